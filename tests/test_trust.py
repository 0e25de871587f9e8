"""The trace is append-only and verifiable; outages answer 503; pages carry a strict CSP; logins
are throttled and logged."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from prescriptions.models import AppendOnlyError, Prescription, TraceEvent
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .factories import PatientFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def prescription(clinician, county, catalogue, monkeypatch):
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    patient = PatientFactory(institution=county["T001"])
    prescription, _ = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "感冒"},
                "doses": 3,
                "usage": "每日1剂",
                "delivery": "pickup",
                "items": [{"herb": "桂枝", "grams": 9}],
            }
        ),
    )
    from audit.services import audit_run

    audit_run(prescription_id=prescription.pk)
    return prescription


def test_the_orm_refuses_to_change_or_remove_a_trace_event(prescription):
    event = TraceEvent.objects.filter(prescription=prescription).first()
    event.data = {"forged": True}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        TraceEvent.objects.filter(pk=event.pk).update(stage="approved")
    with pytest.raises(AppendOnlyError):
        TraceEvent.objects.filter(pk=event.pk).delete()


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def tamper(sql, params=()):
    """Change the table behind the application's back (on PostgreSQL as a superuser with the
    append-only trigger switched off for this session, as an attacker with that power would)."""
    if connection.vendor == "postgresql":
        raw("SET session_replication_role = replica")
    try:
        raw(sql, params)
    finally:
        if connection.vendor == "postgresql":
            raw("SET session_replication_role = DEFAULT")


def test_on_postgresql_the_application_cannot_update_or_delete_trace_events_in_sql(prescription):
    event = TraceEvent.objects.filter(prescription=prescription).first()
    if connection.vendor != "postgresql":
        # SQLite (the single-machine demo) has only the ORM guard: SQL gets through, and
        # verify_trace is what catches it (next tests).
        raw("UPDATE prescriptions_traceevent SET stage = %s WHERE id = %s", ["approved", event.pk])
        assert TraceEvent.objects.get(pk=event.pk).stage == "approved"
        return
    from django.db import DatabaseError, transaction

    for sql in (
        "UPDATE prescriptions_traceevent SET stage = 'approved' WHERE id = %s",
        "DELETE FROM prescriptions_traceevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(sql, [event.pk])


def test_verify_trace_passes_on_an_untouched_trace(prescription, capsys):
    call_command("verify_trace")
    assert "0 broken link(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("edit", "was edited"),
        ("delete", "does not follow"),
        ("reorder", "does not follow"),
    ],
)
def test_verify_trace_reports_an_edited_deleted_or_reordered_event_and_exits_non_zero(
    prescription, capsys, damage, says
):
    first, second = TraceEvent.objects.filter(prescription=prescription).order_by("at", "pk")[:2]
    if damage == "edit":
        tamper("UPDATE prescriptions_traceevent SET data = %s WHERE id = %s", ['{"risk": "none"}', second.pk])
    elif damage == "delete":
        tamper("DELETE FROM prescriptions_traceevent WHERE id = %s", [first.pk])
    else:
        tamper("UPDATE prescriptions_traceevent SET at = %s WHERE id = %s", [second.at, first.pk])
        tamper("UPDATE prescriptions_traceevent SET at = %s WHERE id = %s", [first.at, second.pk])
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_trace")
    assert exit_info.value.code == 1
    assert says in capsys.readouterr().out


def test_an_unreachable_database_is_a_503_not_a_500(client, clinician, monkeypatch):
    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("prescriptions.api.prescription_views.prescription_search", lambda *a, **k: down())
    client.force_login(clinician)
    response = client.get("/api/v1/prescriptions/")
    assert response.status_code == 503
    assert response["Retry-After"] and response.json()["detail"]
    monkeypatch.setattr("prescriptions.views.prescription_search", lambda *a, **k: down())
    page = client.get("/prescriptions/")
    assert page.status_code == 503 and b"Traceback" not in page.content


def test_pages_send_a_content_security_policy_without_inline_scripts(client, clinician, db):
    client.force_login(clinician)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    inline = []
    for template in ROOT.glob("*/templates/**/*.html"):
        if ".venv" in template.parts:
            continue
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", template.read_text()):
            inline.append(f"{template}: {match.group(0)}")
    assert inline == []


def test_five_failed_logins_lock_the_username_even_for_the_right_password(client, clinician, caplog):
    for _ in range(5):
        client.post("/login/", {"username": "clinician", "password": "wrong-password"})
    response = client.post("/login/", {"username": "clinician", "password": "pw-for-tests-1"})
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    assert any("login failed user=clinician" in record.getMessage() for record in caplog.records)


def test_a_successful_login_is_logged(client, clinician, caplog):
    response = client.post("/login/", {"username": "clinician", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert any("login user=clinician" in record.getMessage() for record in caplog.records)


def test_a_prescription_past_its_stage_limit_is_flagged_once_and_unflagged_when_it_moves_on(prescription):
    from django.utils import timezone

    from prescriptions.models import StuckFlag
    from prescriptions.services.trace import flag_stuck

    later = timezone.now() + timezone.timedelta(minutes=200)
    assert flag_stuck(limits={"ai_audited": 120}, now=later) == (1, 0)
    assert flag_stuck(limits={"ai_audited": 120}, now=later) == (0, 0), "flagged once"
    assert flag_stuck(limits={"ai_audited": 300}, now=later) == (0, 0), "within a longer limit nothing new"
    Prescription.objects.filter(pk=prescription.pk).update(status="approved")
    assert flag_stuck(limits={"ai_audited": 120}, now=later) == (0, 1)
    assert StuckFlag.objects.get().resolved_at == later
