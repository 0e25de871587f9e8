"""The rule engine against the regression fixture (tests/fixtures/audit_cases.json: clean
classical formulas, classical formulas with a real 十八反/十九畏 pair, and injected problems),
plus the `audit_check` command contract."""

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from rules import engine
from rules.drafts import parse_draft
from rules.models import RuleVersion, RuleVersionStatus
from rules.services import live_snapshot, rule_version_create, rule_version_publish, snapshot_for

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "fixtures" / "audit_cases.json").read_text(encoding="utf-8"))
BLOCK_CODES = {code for code, (severity, _) in engine.CODES.items() if severity == engine.Severity.BLOCK}


def run(case_input, rules):
    draft, patient = parse_draft(case_input)
    return engine.audit(draft, patient, rules)


@pytest.fixture
def rules(catalogue):
    return live_snapshot()


def test_the_fixture_has_at_least_forty_prescriptions_of_every_kind():
    assert len(CASES) >= 40
    assert sum(1 for c in CASES if not c["expected"]) >= 15
    assert sum(1 for c in CASES if any(e["code"].startswith("incompatibility.") for e in c["expected"])) >= 8


def risk_level_of(expected: list[dict]) -> str:
    """README: high with any block finding, low with warnings only, none otherwise."""
    severities = {e["severity"] for e in expected}
    return "high" if "block" in severities else "low" if "warn" in severities else "none"


def test_every_expected_finding_of_the_fixture_has_a_severity_from_the_readme_table():
    assert [(c["name"], e["code"]) for c in CASES for e in c["expected"] if "severity" not in e] == []
    assert {e["severity"] for c in CASES for e in c["expected"]} == {"block", "warn", "info"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"][:60] for c in CASES])
def test_engine_finds_exactly_the_expected_findings_with_their_severity_and_risk_level(case, rules):
    findings = run(case["input"], rules)
    found = {(f.code, f.severity, tuple(f.herbs)) for f in findings if f.code != "elderly.dose"}
    expected = {(e["code"], e["severity"], tuple(e["herbs"])) for e in case["expected"]}
    assert expected <= found, f"missing: {expected - found}"
    assert not {code for code, _, _ in found} & set(case.get("absent", [])), f"unexpected: {found - expected}"
    assert found == expected
    assert engine.risk_level(findings) == risk_level_of(case["expected"])


def test_every_expected_block_level_finding_of_the_fixture_is_found(rules):
    missed = []
    for case in CASES:
        found = {(f.code, tuple(f.herbs)) for f in run(case["input"], rules)}
        missed += [
            (case["name"], e["code"])
            for e in case["expected"]
            if e["code"] in BLOCK_CODES and (e["code"], tuple(e["herbs"])) not in found
        ]
    assert not missed


def item(herb, grams, instruction=""):
    return {"herb": herb, "grams": grams, "instruction": instruction}


def draft(*items, doses=7, **patient):
    return {
        "patient": {"sex": "F", "age_years": 40, "pregnant": False, "allergies": [], **patient},
        "doses": doses,
        "items": list(items),
    }


def codes(findings):
    return [f.code for f in findings]


def test_findings_name_herbs_exactly_as_written_not_the_base_herb(rules):
    findings = run(draft(item("炙甘草", 6), item("醋甘遂", 1)), rules)
    eighteen = [f for f in findings if f.code == "incompatibility.eighteen"]
    assert eighteen and eighteen[0].herbs == ("炙甘草", "醋甘遂")


def test_dose_exactly_at_the_maximum_is_not_over_and_just_above_is(rules):
    assert "dose.over_max" not in codes(run(draft(item("细辛", 3)), rules))
    assert "dose.over_max" in codes(run(draft(item("细辛", Decimal("3.1"))), rules))


def test_block_findings_come_first_and_each_has_message_and_source(rules):
    findings = run(draft(item("甘草", 6), item("海藻", 10), item("石膏", 20), doses=10), rules)
    severities = [engine.Severity.ORDER[f.severity] for f in findings]
    assert severities == sorted(severities)
    assert all(f.message and f.source for f in findings)


def test_risk_level_is_high_with_a_block_low_with_warnings_none_when_clean(rules):
    assert engine.risk_level(run(draft(item("甘草", 6), item("海藻", 10)), rules)) == "high"
    assert engine.risk_level(run(draft(item("白术", 9), item("麸炒白术", 9)), rules)) == "low"
    assert engine.risk_level(run(draft(item("党参", 10), item("白术", 10)), rules)) == "none"


def test_unknown_herb_suggests_the_herb_that_sounds_the_same(rules):
    finding = run(draft(item("甘艹", 6)), rules)[0]
    assert finding.code == "catalog.unknown" and "甘草" in finding.message.split("是否为：")[1].split("、")[0]


def test_elderly_patient_near_the_adult_maximum_gets_an_info_finding(rules):
    findings = run(draft(item("黄芪", 30), age_years=80), rules)
    assert [f.severity for f in findings if f.code == "elderly.dose"] == ["info"]


def test_a_published_rule_version_is_what_the_engine_uses(catalogue, county_admin):
    from catalogue.models import Herb

    live = live_snapshot()
    Herb.objects.filter(name="细辛").update(dose_max_g=Decimal(5))
    assert live_snapshot().version == live.version, "editing the tables does not change the live rules"
    assert "dose.over_max" in codes(run(draft(item("细辛", 4)), live_snapshot()))
    new = rule_version_publish(version=rule_version_create(actor=county_admin, note="细辛 5 g"), actor=county_admin)
    assert live_snapshot().version == new.number
    assert "dose.over_max" not in codes(run(draft(item("细辛", 4)), snapshot_for(new)))


def test_a_new_installation_freezes_its_working_tables_as_the_live_version_1_at_its_first_audit(catalogue):
    RuleVersion.objects.all().delete()  # the test session froze the shipped catalogue as v1 (tests/conftest.py)
    catalogue.filter(name="细辛").update(dose_max_g=Decimal(5))

    rules = live_snapshot()

    version = RuleVersion.objects.get()
    assert (version.number, version.status, version.note, rules.version) == (
        1,
        RuleVersionStatus.LIVE,
        "initial rules",
        1,
    )
    assert "dose.over_max" not in codes(run(draft(item("细辛", 4)), rules)), "the tables as they were then"


# --- the command-line contract ------------------------------------------------------------------------


def audit_check(stdin: str):
    return subprocess.run(
        [sys.executable, "manage.py", "audit_check", "-"],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_audit_check_prints_one_result_for_one_prescription(catalogue, tmp_path, capsys):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(CASES[0]["input"], ensure_ascii=False), encoding="utf-8")
    call_command("audit_check", str(path))
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"findings"}


def test_audit_check_prints_a_list_for_a_list_with_the_documented_fields(catalogue, tmp_path, capsys):
    inputs = [CASES[0]["input"], draft(item("甘草", 6), item("甘遂", 1))]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
    call_command("audit_check", str(path))
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and len(out) == 2
    finding = next(f for f in out[1]["findings"] if f["code"] == "incompatibility.eighteen")
    assert set(finding) == {"code", "severity", "herbs", "message", "source"}
    assert finding["severity"] == "block" and finding["herbs"] == ["甘草", "甘遂"]


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        ("not json", "not valid JSON"),
        ('{"doses": 7}', "items"),
        ('{"doses": "seven", "items": [{"herb": "甘草", "grams": 6}]}', "doses"),
        ('{"items": [{"herb": "甘草", "grams": "six"}]}', "items[0].grams"),
        ('[{"items": [{"herb": "甘草", "grams": 6}]}, {"items": [{"grams": 6}]}]', "[1].items[0].herb"),
        ('{"patient": {"pregnant": "yes"}, "items": [{"herb": "甘草", "grams": 6}]}', "patient.pregnant"),
        ('{"items": [{"herb": "甘草", "grams": "1e999999"}]}', "items[0].grams"),
        ('{"patient": {"age_years": "1e9999999"}, "items": [{"herb": "甘草", "grams": 6}]}', "patient.age_years"),
        (
            '{"items": [{"herb": "甘草", "grams": 6}], '
            '"others": [{"number": "X-1", "items": [{"herb": "甘遂", "grams": -30}]}]}',
            "others[0].items[0].grams",
        ),
    ],
)
def test_audit_check_exits_2_with_a_clear_message_on_malformed_input(stdin, says, monkeypatch):
    """In this process (a new interpreter per case took 2 to 3 s); the next test runs one."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit_check", "-", stdout=out, stderr=err)
    assert exited.value.code == 2
    assert says in err.getvalue() and out.getvalue() == ""


def test_audit_check_run_as_a_command_exits_2_with_its_message_on_stderr_and_nothing_on_stdout():
    result = audit_check("not json")
    assert result.returncode == 2
    assert "audit_check: not valid JSON" in result.stderr and result.stdout == ""


def test_every_finding_code_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [code for code in engine.CODES if f"`{code}`" not in readme] == []
