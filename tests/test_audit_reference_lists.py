"""Every row of the shipped 十八反/十九畏, toxic and pregnancy lists
(catalogue/data/reference/herbs/*.csv), exercised by a generated prescription through the engine
with the imported catalogue's live rules. The expected finding and its severity come from the
row and the README's rule table ("The audit: finding codes"), not from the engine; every herb is
written at a dose within its catalogue range, so the finding is the row's and not an overdose's."""

import csv
import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from rules import engine
from rules.drafts import parse_draft
from rules.services import live_snapshot

LISTS = Path(__file__).resolve().parent.parent / "catalogue" / "data" / "reference" / "herbs"


def rows(name: str) -> list[dict]:
    with (LISTS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


INCOMPATIBILITIES = rows("incompatibilities.csv")
TOXIC = rows("toxic.csv")
PREGNANCY = rows("pregnancy.csv")
BARE_NAMES = {row["written"] for row in rows("../../bare_names.csv")}
KIND = {"十八反": "incompatibility.eighteen", "十九畏": "incompatibility.nineteen"}
# README: the 峻下逐水 class (and their processed forms) warns when only the textbook forbids it.
DRASTIC_PURGATIVES = ("甘遂", "京大戟", "红大戟", "芫花", "商陆", "牵牛子", "巴豆", "千金子")


@pytest.fixture
def rules(catalogue):
    return live_snapshot()


def within_range(rules, name: str) -> Decimal:
    """The herb's usual minimum (a dose inside its checked range), or 1 g where it has none."""
    rule = rules.resolve(name)
    return rule.dose_min if rule is not None and rule.dose_min else Decimal(1)


def audit(rules, herbs, *, pregnant=False):
    draft, patient = parse_draft(
        {
            "patient": {"sex": "F", "age_years": 35, "pregnant": pregnant, "allergies": [], "weight_kg": None},
            "doses": 2,
            "items": [{"herb": name, "grams": str(within_range(rules, name)), "instruction": ""} for name in herbs],
        }
    )
    return engine.audit(draft, patient, rules)


def test_the_lists_are_read_and_not_empty():
    assert len(INCOMPATIBILITIES) >= 18 and {row["rule"] for row in INCOMPATIBILITIES} == set(KIND)
    assert len(TOXIC) == 28
    assert len(PREGNANCY) >= 100


@pytest.mark.parametrize(
    "row",
    INCOMPATIBILITIES,
    ids=[f"{r['rule']}:{r['group_a'].split('|')[0]}-{r['group_b'].split('|')[0]}" for r in INCOMPATIBILITIES],
)
def test_each_pair_of_an_incompatibility_row_in_one_prescription_is_a_block_finding(rules, row):
    pairs = list(itertools.product(row["group_a"].split("|"), row["group_b"].split("|")))
    assert pairs
    missed = []
    for a, b in pairs:
        findings = audit(rules, [a, b])
        if (KIND[row["rule"]], "block", (a, b)) not in {(f.code, f.severity, tuple(f.herbs)) for f in findings}:
            missed.append((a, b, [(f.code, f.severity, f.herbs) for f in findings]))
        elif engine.risk_level(findings) != "high":
            missed.append((a, b, "risk level is not high"))
    assert missed == []


@pytest.mark.parametrize("row", TOXIC, ids=[r["name"] for r in TOXIC])
def test_each_herb_of_the_toxic_list_is_a_toxic_herb_warning(rules, row):
    findings = audit(rules, [row["name"]])
    assert ("toxic.herb", "warn", (row["name"],)) in {(f.code, f.severity, tuple(f.herbs)) for f in findings}, [
        (f.code, f.severity, f.herbs) for f in findings
    ]


def pregnancy_expectation(row) -> tuple[str, str]:
    """(code, severity) by the README's table for this row of pregnancy.csv."""
    from_pharmacopoeia = row["source"].startswith("ChP2020")
    if row["level"] in ("禁用", "忌用"):
        if from_pharmacopoeia:
            return "pregnancy.forbidden", "block"
        if any(name in row["name"] for name in DRASTIC_PURGATIVES):
            return "pregnancy.forbidden", "warn"
        return "pregnancy.forbidden", "info"
    assert row["level"] == "慎用", row
    return "pregnancy.caution", "warn" if from_pharmacopoeia else "info"


def written_for(rules, name: str) -> str:
    """How a prescriber writes exactly this herb. A bare name the county dispenses processed
    (catalogue/data/bare_names.csv: 川乌 → 制川乌 under the default policy) is checked as what is
    dispensed, so the raw herb's row is written as the raw herb, 生川乌."""
    if name not in BARE_NAMES:
        return name
    raw = f"生{name}"
    assert rules.resolve(raw) is not None and rules.resolve(raw).name == name, f"no raw spelling for {name}"
    return raw


@pytest.mark.parametrize("row", PREGNANCY, ids=[f"{r['name']}:{r['level']}" for r in PREGNANCY])
def test_each_row_of_the_pregnancy_list_is_its_finding_for_a_pregnant_patient_and_none_otherwise(rules, row):
    code, severity = pregnancy_expectation(row)
    written = written_for(rules, row["name"])
    findings = audit(rules, [written], pregnant=True)
    pregnancy = {(f.code, f.severity, tuple(f.herbs)) for f in findings if f.code.startswith("pregnancy.")}
    assert pregnancy == {(code, severity, (written,))}
    if severity == "block":
        assert engine.risk_level(findings) == "high"
    assert not [f for f in audit(rules, [written], pregnant=False) if f.code.startswith("pregnancy.")]
