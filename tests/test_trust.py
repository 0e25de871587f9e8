"""The trace is append-only and verifiable; outages answer 503; pages carry a strict CSP; logins
are throttled and logged."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from core.models import AppendOnlyError
from prescriptions.models import Prescription, TraceEvent
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


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL refuses the SQL (next test)")
def test_on_sqlite_only_the_orm_guard_stands_and_sql_gets_through(prescription):
    """SQLite (the single-machine demo) has no trigger: verify_trace is what catches an edit."""
    event = TraceEvent.objects.filter(prescription=prescription).first()
    raw("UPDATE prescriptions_traceevent SET stage = %s WHERE id = %s", ["approved", event.pk])
    assert TraceEvent.objects.get(pk=event.pk).stage == "approved"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only")
def test_on_postgresql_the_application_cannot_update_or_delete_trace_events_in_sql(prescription):
    event = TraceEvent.objects.filter(prescription=prescription).first()
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


def verify(capsys) -> tuple[int, str]:
    """verify_trace's exit code and what it printed."""
    try:
        call_command("verify_trace")
    except SystemExit as exit_info:
        return exit_info.code, capsys.readouterr().out
    return 0, capsys.readouterr().out


def events_of(prescription):
    return list(TraceEvent.objects.filter(prescription=prescription).order_by("seq"))


def test_a_deleted_last_event_is_caught_by_the_chains_keyed_head(prescription, capsys):
    tamper("DELETE FROM prescriptions_traceevent WHERE id = %s", [events_of(prescription)[-1].pk])

    code, out = verify(capsys)

    assert code == 1
    assert f"prescription {prescription.pk}: its chain ends at event 1, its head says 2" in out


def test_an_event_edited_with_its_plain_hash_recomputed_is_caught(prescription, capsys):
    """Someone with the database but not the key edits an event and writes the plain SHA-256 of
    the new content, as the old unkeyed chain would have accepted."""
    import hashlib

    from prescriptions.services.integrity import event_content

    second = events_of(prescription)[1]
    data = {**second.data, "risk": "none"}
    content = event_content(
        prescription_id=prescription.pk,
        seq=second.seq,
        stage=second.stage,
        actor_id=second.actor_id,
        at=second.at,
        data=data,
        prev_hash=second.prev_hash,
    )
    plain = hashlib.sha256(content.encode()).hexdigest()
    tamper(
        "UPDATE prescriptions_traceevent SET data = %s, hash = %s WHERE id = %s",
        [json.dumps(data), plain, second.pk],
    )
    tamper("UPDATE prescriptions_prescription SET trace_head = %s WHERE id = %s", [plain, prescription.pk])

    code, out = verify(capsys)

    assert code == 1
    assert f"prescription {prescription.pk}: event {second.pk} (ai_audited) was edited" in out
    assert f"prescription {prescription.pk}: its chain head was changed without the trace key" in out


def test_a_status_changed_without_its_event_is_caught(prescription, capsys):
    raw("UPDATE prescriptions_prescription SET status = %s WHERE id = %s", ["approved", prescription.pk])

    code, out = verify(capsys)

    assert code == 1
    assert f"prescription {prescription.pk}: status 'approved' has no trace event" in out


def test_a_deleted_chain_is_caught_and_a_deleted_prescription_is_caught_by_the_anchor(
    prescription, clinician, catalogue, capsys
):
    from prescriptions.services.integrity import anchor_trace

    other = prescription_for(clinician)
    anchor_trace()
    assert verify(capsys)[0] == 0, "a clean, anchored trace verifies"
    tamper("DELETE FROM prescriptions_traceevent WHERE prescription_id = %s", [other.pk])
    code, out = verify(capsys)
    assert code == 1 and f"prescription {other.pk} has no trace events (its chain was deleted)" in out

    for table in ("prescriptions_milestone", "audit_auditrun", "prescriptions_prescriptionitem"):
        tamper(f"DELETE FROM {table} WHERE prescription_id = %s", [prescription.pk])
    tamper("DELETE FROM prescriptions_traceevent WHERE prescription_id = %s", [prescription.pk])
    tamper("DELETE FROM prescriptions_prescription WHERE id = %s", [prescription.pk])
    code, out = verify(capsys)

    assert code == 1
    assert f"prescription {prescription.pk} was deleted after an anchor held its chain" in out


def test_an_edited_anchor_file_is_caught_and_no_new_anchor_is_added_to_it(prescription, settings, capsys):
    from prescriptions.services.integrity import anchor_trace

    anchor_trace()
    anchor_trace()
    path = settings.TCM_TRACE_ANCHOR_PATH
    first, second = path.read_text().splitlines()
    forged = json.loads(first)
    forged["events"] += 1  # a figure changed by someone without the key
    path.write_text(json.dumps(forged) + "\n" + second + "\n")

    code, out = verify(capsys)

    assert code == 1 and "anchor file line 1 was edited, removed or reordered" in out
    with pytest.raises(ValueError):
        anchor_trace()


def test_a_chain_keyed_with_a_key_no_longer_configured_is_reported_and_rotation_keeps_old_keys(
    prescription, clinician, catalogue, settings, capsys
):
    old = settings.TCM_TRACE_KEYS
    settings.TCM_TRACE_KEYS = [("k2", "a-new-trace-key-for-the-rotation-test-0123"), *old]
    rotated = prescription_for(clinician)
    assert {event.key_id for event in events_of(rotated)} == {"k2"}
    assert verify(capsys)[0] == 0, "old events verify with the old key kept configured"

    settings.TCM_TRACE_KEYS = [("k2", "a-new-trace-key-for-the-rotation-test-0123")]
    code, out = verify(capsys)

    assert code == 1
    assert "which is not configured" in out and f"prescription {prescription.pk}" in out


def prescription_for(clinician):
    patient = PatientFactory(institution=clinician.institution)
    created, _ = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "咳嗽"},
                "doses": 3,
                "usage": "每日1剂",
                "delivery": "pickup",
                "items": [{"herb": "桔梗", "grams": 6}],
            }
        ),
    )
    return created


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
    templates = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    assert ROOT / "templates" / "base.html" in templates, "the project's own templates are scanned too"
    for template in templates:
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


def test_the_rekeying_migration_keys_intact_legacy_chains_and_leaves_a_tampered_one_reported(
    prescription, clinician, catalogue, capsys
):
    """Migration 0009 checks each chain written before keyed hashes as the plain SHA-256 chain it
    was, and keys only the intact ones: the new key must not vouch for earlier tampering."""
    import hashlib
    import importlib
    import types

    from django.db.migrations.executor import MigrationExecutor

    other = prescription_for(clinician)
    for chain in (prescription, other):  # back to the plain chains written before keyed hashes
        previous = ""
        for event in TraceEvent.objects.filter(prescription=chain).order_by("at", "pk"):
            content = {"prescription": chain.pk, "stage": event.stage, "actor": event.actor_id}
            content |= {"at": event.at.isoformat(), "data": event.data, "prev": previous}
            text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
            plain = hashlib.sha256(text.encode()).hexdigest()
            tamper(
                "UPDATE prescriptions_traceevent SET hash = %s, prev_hash = %s, key_id = '', seq = 0 WHERE id = %s",
                [plain, previous, event.pk],
            )
            previous = plain
    forged = TraceEvent.objects.filter(prescription=other).order_by("at", "pk").first()
    tamper("UPDATE prescriptions_traceevent SET data = %s WHERE id = %s", ['{"forged": true}', forged.pk])
    state = MigrationExecutor(connection).loader.project_state(("prescriptions", "0009_keyed_trace"))
    migration = importlib.import_module("prescriptions.migrations.0009_keyed_trace")
    if connection.vendor == "postgresql":  # the test's own inserts: checked now, as a migration's would be
        raw("SET CONSTRAINTS ALL IMMEDIATE")

    migration.rekey(state.apps, types.SimpleNamespace(connection=connection, execute=raw))

    code, out = verify(capsys)
    assert code == 1
    assert f"prescription {other.pk}:" in out and f"prescription {prescription.pk}:" not in out
    assert {e.key_id for e in TraceEvent.objects.filter(prescription=prescription)} == {"dev"}
    assert f"[{other.pk}]" in state.apps.get_model("prescriptions", "TraceRekey").objects.get().note
