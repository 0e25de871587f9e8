"""The quality dashboard against a small history counted by hand: random inspections picked,
passed, failed and waiting, by inspector and by the dispenser of the inspected prescription;
re-check failures by dispenser from the rollup; both per period; scope per administrator, CSV,
bad filters and a query count that does not grow with the history."""

import csv
import io
from datetime import date

import pytest
import time_machine

from accounts.roles import Role
from decoction.models import Inspection, InspectionResult
from decoction.services import inspection_record

from .dashboard_history import History, local, page, refreshed, table
from .factories import UserFactory
from .test_dashboards_stages import queries

pytestmark = pytest.mark.usefixtures("fresh_cache")

SPRING = {"start": "2026-03-01", "end": "2026-04-30", "by": "month"}
TO_DISPENSED = {"ai_audited": 1, "approved": 20, "dispensed": 50}
FAILED_ONCE = {**TO_DISPENSED, "recheck_failed": 60}
AFTER_RECHECK = {"rechecked": 80, "soaking": 90, "decocting": 120, "packaged": 180}


@pytest.fixture
def staff(people, county):
    """A second dispenser and a second pharmacist (an inspector) at the shared pharmacy."""
    return {
        "a": people["dispenser"],
        "b": UserFactory(username="dispenser2", name="赵调剂", institution=county["P001"], roles=[Role.DISPENSER]),
        "inspector2": UserFactory(
            username="pharmacist2", name="王药师", institution=county["P001"], roles=[Role.PHARMACIST]
        ),
    }


def dispensed_by(people, dispenser, who, at, *, fails=False):
    """A prescription of `who` dispensed by `dispenser` at `at`, re-checked (after one failed
    re-check and a second dispensing when `fails`) and packaged."""
    history = History({**people, "dispenser": dispenser})
    prescription = history.write(who, at=at)
    prescription = history.walk(prescription, FAILED_ONCE if fails else TO_DISPENSED)
    if fails:
        prescription = history.walk(prescription, {"dispensed": 70})
    return history.walk(prescription, AFTER_RECHECK)


def inspect(prescription, picked_on, inspector=None, result=None):
    inspection = Inspection.objects.create(prescription=prescription, picked_on=picked_on)
    if inspector is not None:
        with time_machine.travel(local(picked_on.year, picked_on.month, picked_on.day, 16), tick=False):
            notes = "药液量不足" if result == InspectionResult.FAILED else ""
            inspection_record(actor=inspector, inspection=inspection, result=result, notes=notes)


@pytest.fixture
def spring(people, staff, history):
    """March: q1 (A) inspected and passed; q2 (A, failed its re-check once) inspected and failed;
    q3 (B) picked, not yet inspected; q4 (B, the outsider's, failed once). April: q5 (B, failed
    once); q6 (A) inspected and passed. q1–q3, q5, q6 are the clinician's (T001, under C001)."""
    clinician, outsider, a, b = people["clinician"], people["outsider"], staff["a"], staff["b"]
    q1 = dispensed_by(people, a, clinician, local(2026, 3, 2, 9))
    q2 = dispensed_by(people, a, clinician, local(2026, 3, 2, 10), fails=True)
    q3 = dispensed_by(people, b, clinician, local(2026, 3, 9, 9))
    dispensed_by(people, b, outsider, local(2026, 3, 9, 10), fails=True)
    dispensed_by(people, b, clinician, local(2026, 4, 6, 9), fails=True)
    q6 = dispensed_by(people, a, clinician, local(2026, 4, 7, 9))
    inspect(q1, date(2026, 3, 2), people["pharmacist"], InspectionResult.PASSED)
    inspect(q2, date(2026, 3, 2), staff["inspector2"], InspectionResult.FAILED)
    inspect(q3, date(2026, 3, 9))
    inspect(q6, date(2026, 4, 7), people["pharmacist"], InspectionResult.PASSED)
    refreshed()


def name(user) -> str:
    return user.name or user.username


def pick(rows, key, *columns) -> dict:
    return {row[key]: tuple(row[c] for c in columns) for row in rows}


def test_the_county_sees_re_check_failures_and_inspections_by_dispenser(client, people, staff, spring):
    response = page(client, people["county_admin"], "quality", **SPRING)

    assert response.status_code == 200
    dispensers = table(response, "dispensers")
    assert pick(dispensers, "dispenser", "dispensed", "recheck_failed", "recheck_rate") == {
        name(staff["a"]): (3, 1, 0.333),
        name(staff["b"]): (3, 2, 0.667),
    }
    assert pick(dispensers, "dispenser", "picked", "passed", "failed", "pending", "failed_share") == {
        name(staff["a"]): (3, 2, 1, 0, 0.333),
        name(staff["b"]): (1, 0, 0, 1, None),
    }
    # inspections picked, failed, waiting; dispensed; re-check failure rate
    assert [value for _label, value in response.context["figures"].tiles] == [4, 1, 1, 6, 0.5]


def test_inspections_are_counted_by_inspector(client, people, staff, spring):
    response = page(client, people["county_admin"], "quality", **SPRING)

    assert pick(table(response, "inspectors"), "inspector", "passed", "failed", "failed_share") == {
        name(people["pharmacist"]): (2, 0, 0.0),
        name(staff["inspector2"]): (0, 1, 1.0),
    }


def test_the_trend_has_each_months_inspections_and_re_checks(client, people, spring):
    periods = table(page(client, people["county_admin"], "quality", **SPRING), "periods")

    assert [
        (str(r["period"]), r["picked"], r["passed"], r["failed"], r["pending"], r["dispensed"], r["recheck_failed"])
        for r in periods
    ] == [("2026-03-01", 3, 1, 1, 1, 4, 2), ("2026-04-01", 1, 1, 0, 0, 2, 1)]
    assert [(r["failed_share"], r["recheck_rate"]) for r in periods] == [(0.5, 0.5), (0.0, 0.5)]


def test_a_centre_administrator_counts_only_prescriptions_of_its_subtree(client, people, staff, spring):
    response = page(client, people["centre_admin"], "quality", **SPRING)

    dispensers = table(response, "dispensers")
    assert pick(dispensers, "dispenser", "dispensed", "recheck_failed", "picked") == {
        name(staff["a"]): (3, 1, 3),
        name(staff["b"]): (2, 1, 1),  # not the outsider's q4
    }


def test_the_quality_page_is_for_administrators_only(client, people, spring):
    assert page(client, people["clinician"], "quality", **SPRING).status_code == 403
    assert page(client, people["pharmacist"], "quality", **SPRING).status_code == 403


def test_the_tables_download_as_csv(client, people, staff, spring):
    response = page(client, people["county_admin"], "quality", format="csv", table="dispensers", **SPRING)

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert [name(staff["b"]), "3", "2", "0.667", "1", "0", "0", "1", ""] in rows


@pytest.mark.parametrize("bad", [{"by": "hour"}, {"start": "2026-13-01"}, {"clinician": "1", "start": "x"}])
def test_bad_filters_answer_400(client, people, bad):
    assert page(client, people["county_admin"], "quality", **bad).status_code == 400


def test_the_page_reads_as_many_queries_for_a_longer_history(client, people, staff, spring):
    before = queries(client, people["county_admin"], "quality", **SPRING)
    inspector = UserFactory(
        username="pharmacist3", institution=people["pharmacist"].institution, roles=[Role.PHARMACIST]
    )
    for day in (12, 13):
        late = dispensed_by(people, staff["b"], people["clinician"], local(2026, 4, day, 9), fails=True)
        inspect(late, date(2026, 4, day), inspector, InspectionResult.PASSED)
    refreshed()

    assert queries(client, people["county_admin"], "quality", **SPRING) == before
