"""The regression set of issue 16 (tests/fixtures/audit_regression.json): prescriptions written
and reviewed against the 中国药典2020年版一部 rows of the shared reference data, the formulas'
textbook sources and the finding codes of issue 16. Each case names its basis in `note`.

A case's `expected` is the exact set of (code, herbs as written) the engine must report; herbs are
compared as a set (the order of a pair is presentation). Where an expected finding gives a
severity, the finding must have it. Cases with `only_codes` compare those codes only (a line whose
grams cannot be right: what else the engine says about that line is not asserted).

Conventions the fixture follows where the spec leaves a shape open: a patient-level or
prescription-level finding (input.invalid on a patient field or the dose count, doses.too_many)
has no herbs; allergy.unrecognised names the allergy as written; cross.* findings name the herb as
written in this prescription and as written in the other one. A bare 川乌/草乌/半夏 follows the
处方应付 convention (写川乌付制川乌) as the county default.

These tests run in CI with no skip: they fail until the issue-16 engine work is merged."""

import json
from collections import Counter
from pathlib import Path

import pytest

from rules import engine
from rules.drafts import DraftError, parse_draft
from rules.services import live_snapshot

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "fixtures" / "audit_regression.json").read_text(encoding="utf-8"))
CLASSES = {
    "clean_formula",
    "names_as_written",
    "duplicates",
    "children",
    "raw_aconite",
    "methods",
    "withdrawn_pregnancy",
    "invalid_input",
    "allergies",
    "cross_prescription",
    "incompatibility_pairs",
    "toxic",
    "dose_over_max",
    "elderly",
}
NOT_WARNINGS = ("block", "warn")


@pytest.fixture
def rules(catalogue):
    return live_snapshot()


def key(code, herbs):
    return code, tuple(sorted(herbs))


def audit(case, rules):
    """The findings of one case through the public surface (parse_draft + engine.audit)."""
    try:
        draft, patient = parse_draft(case["input"])
    except DraftError as error:
        return [engine.Finding("draft.error", "block", (), str(error), "parse_draft")]
    return engine.audit(draft, patient, rules)


def test_the_regression_set_has_300_cases_120_clean_formulas_and_every_class():
    assert len(CASES) >= 300
    assert len({case["id"] for case in CASES}) == len(CASES)
    clean = [
        case
        for case in CASES
        if case["clean_formula"] and not any(e.get("severity") in NOT_WARNINGS for e in case["expected"])
    ]
    assert len(clean) >= 120
    per_class = Counter(case["class"] for case in CASES)
    assert set(per_class) == CLASSES
    assert all(count >= 12 for count in per_class.values()), per_class
    assert all(case["note"] and case["input"]["doses"] <= 7 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_engine_reports_exactly_the_expected_findings(case, rules):
    findings = audit(case, rules)
    only = set(case.get("only_codes", ()))
    found = {key(f.code, f.herbs): f for f in findings if not only or f.code in only}
    expected = {key(e["code"], e["herbs"]): e for e in case["expected"]}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    assert not missing and not unexpected, f"{case['note']}\nmissing: {missing}\nunexpected: {unexpected}"
    wrong_severity = [
        (k, e["severity"], found[k].severity)
        for k, e in expected.items()
        if e.get("severity", found[k].severity) != found[k].severity
    ]
    assert not wrong_severity, f"{case['note']}\nseverity (expected, found): {wrong_severity}"


def test_every_herb_name_of_the_set_resolves_in_the_catalogue(rules):
    unresolved = set()
    for case in CASES:
        unknown = {h for e in case["expected"] if e["code"] == "catalog.unknown" for h in e["herbs"]}
        items = case["input"]["items"] + [i for other in case["input"].get("others", []) for i in other["items"]]
        unresolved |= {
            (case["id"], i["herb"]) for i in items if i["herb"] not in unknown and rules.resolve(i["herb"]) is None
        }
    assert not unresolved, sorted(unresolved)
