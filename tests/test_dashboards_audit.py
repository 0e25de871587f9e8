"""The audit dashboard against a small history counted by hand: findings per code, institution and
clinician; the pharmacists' rejection and override rates; the median and p90 decision time; the
clinicians who stand out against the county (the doctor-behaviour view); each administrator's
subtree and a clinician's own figures; the CSV behind a table; bad filters."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.figures.behaviour import standing_out
from dashboards.rollups import refresh

from .dashboard_history import HIGH, local, page, table

MARCH = {"start": "2026-03-01", "end": "2026-03-31", "by": "month"}
LOW = [("白术", 9), ("麸炒白术", 9)]  # duplicate.herb: a warning
PLAIN = [("党参", 10), ("白术", 10)]  # nothing found at 7 doses; doses.too_many (info) at 10


@pytest.fixture
def six(history, people):
    """March 2026, decided by the pharmacist (minutes after submission):
    the clinician (T001, under C001): a1 plain approved at 20, a2 duplicate.herb approved at 40,
    a3 十八反 + toxic.herb approved over its block finding at 30, a4 plain rejected at 10;
    the outsider (T003, under C002): b1 十八反 + toxic.herb rejected at 60, b2 ten doses
    (doses.too_many) approved at 90."""
    clinician, outsider = people["clinician"], people["outsider"]
    for day, herbs, doses, decided in (
        (2, PLAIN, 7, {"approved": 20}),
        (3, LOW, 7, {"approved": 40}),
        (4, HIGH, 3, {"approved": 30}),
        (5, PLAIN, 7, {"rejected": 10}),
    ):
        history.walk(
            history.write(clinician, at=local(2026, 3, day), herbs=herbs, doses=doses), {"ai_audited": 1, **decided}
        )
    history.walk(history.write(outsider, at=local(2026, 3, 6), herbs=HIGH, doses=3), {"ai_audited": 1, "rejected": 60})
    history.walk(
        history.write(outsider, at=local(2026, 3, 9), herbs=PLAIN, doses=10), {"ai_audited": 1, "approved": 90}
    )
    refresh(full=True)


def tiles(response) -> dict:
    return {str(label): value for label, value in response.context["figures"].tiles}


def rows(response, name, *keys) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in table(response, name)]


def test_the_county_sees_findings_per_code_and_the_decision_rates_and_times(client, people, six):
    response = page(client, people["county_admin"], "audit", **MARCH)

    assert response.status_code == 200
    assert rows(response, "findings", "code", "title", "severity", "versions") == [
        ("incompatibility.eighteen", "十八反", "拦截", 2),
        ("toxic.herb", "毒性药品", "警示", 2),
        ("doses.too_many", "超7日用量", "提示", 1),
        ("duplicate.herb", "重复用药", "警示", 1),
    ]
    # 6 decided; flagged a2 a3 b1 b2; block findings a3 b1; rejected a4 b1; approved over a block a3.
    assert tiles(response) == {
        "已审核处方（版本）": 6,
        "驳回率": 0.333,
        "放行率": 0.5,
        "审核用时中位数（分钟）": 30,  # 10 20 30 40 60 90: the third
        "行为异常医师": 0,
    }
    assert rows(response, "periods", "versions", "flagged", "rejected", "high_risk", "overridden", "flagged_rate") == [
        (6, 4, 2, 2, 1, 0.667)
    ]


def test_each_institution_and_clinician_has_its_findings_rates_and_decision_times(client, people, six):
    response = page(client, people["county_admin"], "audit", **MARCH)

    keys = ("institution", "versions", "rejection_rate", "override_rate", "findings", "median_minutes", "p90_minutes")
    assert rows(response, "institutions", *keys) == [
        ("白塔乡卫生院", 4, 0.25, 1.0, 3, 20, 40),  # 10 20 30 40
        ("柳溪乡卫生院", 2, 0.5, 0.0, 3, 60, 90),
    ]
    keys = ("clinician", "institution", "versions", "findings", "rejection_rate", "flagged_rate", "override_rate")
    assert rows(response, "behaviour", *keys) == [
        ("李医生", "白塔乡卫生院", 4, 3, 0.25, 0.5, 1.0),
        ("外乡医生", "柳溪乡卫生院", 2, 3, 0.5, 1.0, 0.0),
    ]
    assert [r["stands_out"] for r in table(response, "behaviour")] == ["", ""]  # too few versions to judge
    assert rows(response, "pharmacists", "versions", "approved", "rejected", "overridden") == [(6, 4, 2, 1)]


def test_a_central_centres_administrator_counts_only_its_subtree_against_the_whole_county(client, people, six):
    response = page(client, people["centre_admin"], "audit", **MARCH)

    assert rows(response, "institutions", "institution", "versions") == [("白塔乡卫生院", 4)]
    assert rows(response, "behaviour", "clinician") == [("李医生",)]
    assert rows(response, "findings", "code", "versions") == [
        ("duplicate.herb", 1),
        ("incompatibility.eighteen", 1),
        ("toxic.herb", 1),
    ]
    assert tiles(response)["驳回率"] == 0.25
    county = response.context["figures"].extra["county"]
    assert (county["rejection_rate"], county["override_rate"]) == (0.333, 0.5)
    assert "外乡医生" not in response.content.decode()


def test_a_clinician_sees_only_their_own_prescriptions_and_their_institutions_decision_times(client, people, six):
    own = page(client, people["outsider"], "audit", **MARCH)
    asked_for_another = page(client, people["outsider"], "audit", clinician=people["clinician"].pk, **MARCH)

    assert rows(own, "behaviour", "clinician", "versions") == [("外乡医生", 2)]
    assert rows(own, "findings", "code", "versions") == [
        ("doses.too_many", 1),
        ("incompatibility.eighteen", 1),
        ("toxic.herb", 1),
    ]
    assert rows(own, "institutions", "institution", "median_minutes") == [("柳溪乡卫生院", 60)]
    assert table(asked_for_another, "behaviour") == table(own, "behaviour")
    assert "李医生" not in own.content.decode()


def test_a_clinician_whose_rate_is_twice_the_countys_on_enough_versions_is_marked(client, people, history):
    """The clinician approves five prescriptions over their signed 十八反 (override rate 5/5), the
    outsider has five rejected (rejection rate 5/5). The county: 5 of 10 overridden, 5 of 10
    rejected. The clinician's 1.0 is twice the county's 0.5 on five versions with block findings:
    marked. The outsider's 1.0 is too, but on five versions decided, fewer than twenty: not."""
    for day in range(2, 7):
        history.walk(
            history.write(people["clinician"], at=local(2026, 3, day), herbs=HIGH, doses=3),
            {"ai_audited": 1, "approved": 30},
        )
        history.walk(
            history.write(people["outsider"], at=local(2026, 3, day), herbs=HIGH, doses=3),
            {"ai_audited": 1, "rejected": 30},
        )
    refresh(full=True)

    response = page(client, people["county_admin"], "audit", **MARCH)

    assert rows(response, "behaviour", "clinician", "override_rate", "rejection_rate", "stands_out") == [
        ("李医生", 1.0, 0.0, "放行率"),
        ("外乡医生", 0.0, 1.0, ""),
    ]
    assert tiles(response)["行为异常医师"] == 1
    body = response.content.decode()
    assert '<tr class="stands-out">' in body and "不低于同期全县比率" in body


@pytest.mark.parametrize(
    ("row", "out"),
    [
        ({"versions": 20, "rejected": 10, "flagged": 0, "high_risk": 0, "overridden": 0}, ["rejection_rate"]),
        ({"versions": 19, "rejected": 19, "flagged": 0, "high_risk": 0, "overridden": 0}, []),  # too few
        ({"versions": 20, "rejected": 9, "flagged": 0, "high_risk": 0, "overridden": 0}, []),  # 0.45 < 2 × 0.25
        (
            {"versions": 20, "rejected": 0, "flagged": 20, "high_risk": 5, "overridden": 3},
            ["flagged_rate", "override_rate"],
        ),
        ({"versions": 40, "rejected": 0, "flagged": 0, "high_risk": 4, "overridden": 4}, []),  # four block findings
    ],
)
def test_a_rate_stands_out_at_twice_the_countys_on_enough_of_its_denominator(row, out):
    county = {
        "versions": 100,
        "rejected": 25,
        "flagged": 40,
        "high_risk": 20,
        "overridden": 6,
        "scored": 50,
        "irrational": 10,
    }

    assert standing_out({**row, "scored": 0, "irrational": 0}, county) == out


def test_the_irrational_rate_stands_out_on_ten_reviewed_prescriptions():
    county = {
        "versions": 0,
        "rejected": 0,
        "flagged": 0,
        "high_risk": 0,
        "overridden": 0,
        "scored": 50,
        "irrational": 10,
    }
    quiet = {"versions": 0, "rejected": 0, "flagged": 0, "high_risk": 0, "overridden": 0}

    assert standing_out({**quiet, "scored": 10, "irrational": 4}, county) == ["irrational_rate"]  # 0.4 ≥ 2 × 0.2
    assert standing_out({**quiet, "scored": 9, "irrational": 9}, county) == []


def test_a_pharmacist_may_not_open_the_audit_dashboard(client, people, six):
    assert page(client, people["pharmacist"], "audit").status_code == 403


def test_the_findings_table_downloads_as_csv(client, people, six):
    response = page(client, people["county_admin"], "audit", format="csv", table="findings", **MARCH)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == ["代码", "审方问题", "级别", "处方（版本）"]
    assert lines[1] == ["incompatibility.eighteen", "十八反", "拦截", "2"]


def test_a_bad_date_or_an_unknown_table_is_a_400(client, people, six):
    bad_date = page(client, people["county_admin"], "audit", end="2026-02-30")
    unknown = page(client, people["county_admin"], "audit", format="csv", table="patients")

    assert bad_date.status_code == 400 and "end" in bad_date.context["form"].errors
    assert unknown.status_code == 400


def test_the_page_reads_the_same_number_of_queries_however_long_the_history(client, people, history, six):
    client.force_login(people["county_admin"])
    with CaptureQueriesContext(connection) as small:
        client.get("/dashboards/audit/", MARCH)
    for day in range(10, 16):
        history.walk(
            history.write(people["clinician"], at=local(2026, 3, day), herbs=LOW), {"ai_audited": 1, "approved": 5}
        )
    refresh(full=True)
    with CaptureQueriesContext(connection) as larger:
        client.get("/dashboards/audit/", MARCH)

    assert len(larger) == len(small)
