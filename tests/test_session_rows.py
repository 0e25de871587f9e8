"""The test database's upkeep (tests/session_rows.py): a transactional test's flush puts back the
rows the session started with, value for value, so the next test finds the catalogue and the
migrations' rows as a test in a transaction does."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS

from catalogue.models import Herb, HerbAlias
from prescriptions.models import Prescription, TraceEvent
from prescriptions.workflow import Stage
from rules.models import AgeBand

from .session_rows import SessionRows
from .test_tracking import prescription_at


@pytest.mark.django_db(transaction=True)
def test_a_flush_puts_back_every_row_the_session_started_with_value_for_value_and_new_rows_get_new_ids(
    clinician, enqueued
):
    start = SessionRows(DEFAULT_DB_ALIAS)
    prescription_at(clinician, Stage.DISPENSED)  # trace events too: append-only on PostgreSQL
    kept = {"catalogue_herb", "catalogue_herbalias", "audit_ruleversion", "auth_group", "django_content_type"}
    assert kept | {"audit_ageband"} <= set(start.tables)
    herb = Herb.objects.order_by("pk").first()
    Herb.objects.filter(pk=herb.pk).update(price_per_g=Decimal("9.99"), active=False)
    HerbAlias.objects.filter(herb=herb).delete()
    AgeBand.objects.all().delete()
    group = Group.objects.create(name="temporary")

    start.flush_and_restore()

    assert SessionRows(DEFAULT_DB_ALIAS).tables == start.tables
    assert not Prescription.objects.exists() and not TraceEvent.objects.exists()
    assert not Group.objects.filter(name="temporary").exists()
    assert Group.objects.create(name="after").pk > group.pk, "the sequences are left where they were"
    assert ContentType.objects.get_for_model(Herb).model_class() is Herb
