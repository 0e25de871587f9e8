"""core.bulk: rows written as tuples (COPY on PostgreSQL, executemany on SQLite) read back as the
ORM would have written them, reserved ids are nobody else's, and the writer's errors reach the
caller. Runs on whichever database the suite runs on."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from core.bulk import Writer, dangling_references, insert_rows, last_id, prepare, reserve_ids
from dashboards.models import Freshness, StageMonth, VolumeDay
from delivery.models import TraceCursor
from patients.models import Patient

TRICKY = "tab\there\nnew line \\ backslash \\N 白术\r"


def test_ids_reserved_twice_never_overlap_and_an_ordinary_insert_lands_above_both(db):
    first, second = reserve_ids(Freshness, 3), reserve_ids(Freshness, 2)

    assert len(set(first + second)) == 5 and min(second) > max(first)
    assert Freshness.objects.create(name="after").pk > max(second)
    insert_rows(Freshness, ("id", "name"), [(first[0], "reserved")])
    assert Freshness.objects.get(pk=first[0]).name == "reserved"


def test_rows_written_in_bulk_read_back_as_the_orm_writes_them_with_defaults_for_columns_left_out(county):
    before = timezone.now()

    written = insert_rows(
        Patient,
        ("name", "sex", "date_of_birth", "mobile", "address", "township", "institution", "created_by_id"),
        [(TRICKY, "F", date(1980, 2, 29), "13800000000", "", "白塔乡", county["T001"].pk, None)],
    )

    patient = Patient.objects.get(name=TRICKY)
    assert written == 1
    assert (patient.date_of_birth, patient.address, patient.created_by, patient.notes) == (
        date(1980, 2, 29),
        "",
        None,
        "",
    )
    assert patient.created_at >= before.replace(microsecond=0)


def test_json_dates_booleans_and_decimals_keep_their_values(county, clinician):
    at = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    handled = [1, None, {"note": TRICKY, "path": "C:\\temp"}]

    insert_rows(TraceCursor, ("name", "handled_above", "gaps_seen", "updated_at"), [("bulk", handled, [], at)])
    insert_rows(
        VolumeDay,
        ("day", "institution", "prescriber", "prescriptions", "cost"),
        [(date(2026, 3, 1), county["T001"].pk, clinician.pk, 3, Decimal("12.30"))],
    )
    insert_rows(
        StageMonth,
        ("month", "institution", "step", "urgent", "minutes"),
        [(date(2026, 3, 1), county["T001"].pk, "audit", True, 15)],
    )

    cursor = TraceCursor.objects.get(name="bulk")
    assert (cursor.handled_above, cursor.gaps_seen, cursor.updated_at) == (handled, [], at)
    volume, stage = VolumeDay.objects.get(), StageMonth.objects.get()
    assert (volume.day, volume.prescriptions, volume.cost, volume.toxic) == (date(2026, 3, 1), 3, Decimal("12.30"), 0)
    assert (stage.urgent, stage.minutes, stage.count) == (True, 15, 0)


def test_a_column_left_out_without_a_default_and_a_naive_time_are_refused(db):
    with pytest.raises(ValueError, match="name it in the columns"):
        prepare(VolumeDay, ("prescriptions",), [(1,)])  # no day
    with pytest.raises(ValueError, match="naive"):
        prepare(Freshness, ("name", "refreshed_at"), [("naive", datetime(2026, 1, 1))])


@pytest.mark.django_db(transaction=True)
def test_the_writer_writes_each_batch_in_its_transaction_and_its_errors_reach_the_caller():
    after = last_id(Freshness)
    with Writer() as writer:
        writer.put([prepare(Freshness, ("name",), [("one",), ("two",)])])
        writer.put([prepare(Freshness, ("name",), [("three",)])])
    assert sorted(Freshness.objects.values_list("name", flat=True)) == ["one", "three", "two"]
    assert dangling_references(Freshness, after) == {}

    with pytest.raises((IntegrityError, RuntimeError)), Writer() as writer:  # RuntimeError: from the thread
        writer.put([prepare(Freshness, ("name",), [("one",)])])  # taken
        writer.put([prepare(Freshness, ("name",), [("four",)])])
    assert not Freshness.objects.filter(name="four").exists(), "nothing is written after an error"
