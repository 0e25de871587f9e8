"""The rows the stage apps keep beside the trace: audit runs and decisions, delivery runs with
their stops (a failed stop before the delivered one), pickup codes, dispensing records, and the
patients' notifications of the announced stages, sent at the time (so delivery's pull of the
trace finds them written and announces nothing of the past again)."""

from datetime import timedelta
from types import SimpleNamespace

from audit.models import AuditDecision, AuditRun
from core.bulk import prepare, reserve_ids
from decoction.models import DispensingRecord
from delivery.models import DeliveryRun, DeliveryStop, Notification, NotificationStatus, PickupCode
from delivery.services.notifications import NOTIFY_STAGES, notification_text
from rules.engine import ENGINE_VERSION

from .plans import risk_of

SENT_AFTER = timedelta(seconds=20)
DISPENSED = "dispensed"
RUN = ("id", "station_id", "courier_id", "area", "is_open", "created_at", "closed_at")
STOP = ("run_id", "prescription_id", "position", "status", "expected_at", "failure_reason", "updated_at")
NOTIFICATION = ("prescription_id", "stage", "message", "status", "attempts", "created_at", "sent_at")
AUDIT_RUN = (
    *("prescription_id", "rule_version", "engine_version", "duration_ms", "findings", "risk_level"),
    *("routed_to_id", "created_at"),
)
DECISION = ("prescription_id", "pharmacist_id", "decision", "reasons", "overrides", "created_at")
STAGE_TABLES = (AuditRun, AuditDecision, PickupCode, DeliveryRun, DeliveryStop, Notification)
DISPENSING = ("id", "prescription_id", "dispenser_id", "pharmacy_id", "weights", "created_at")


def _audit_run(plan, at, routed_to, rule_version):
    institution = plan.clinician.user.institution
    return (plan.pk, rule_version, ENGINE_VERSION, 1.0, plan.findings, risk_of(plan), routed_to(institution).pk, at)


def _decision(plan, at):
    pharmacist, decision, reasons, overrides = plan.decision
    return (plan.pk, pharmacist.pk, decision, reasons, overrides, at)


def _delivery(plan, stages, station_id):
    """A run and stop per attempt: a failed attempt, then the one that delivered (or is on its way)."""
    _stage, courier, at, _data = stages["shipped"]
    last = "delivered" if "delivered" in stages else "shipped"
    closed = stages.get("delivered", stages["shipped"])[2]
    for status in ["failed", last] if plan.failed_delivery else [last]:
        run = [None, station_id, courier.pk, plan.patient.township or "—", status == "shipped", at]
        run.append(None if status == "shipped" else closed)
        reason = "家中无人" if status == "failed" else ""
        yield run, [None, plan.pk, 1, status, at, reason, at]


def stage_rows(plans, routed_to, station, rule_version) -> list:
    """The audit runs and decisions, pickup codes, delivery runs and stops of a batch (loads)."""
    runs, decisions, stops, codes = [], [], [], []
    for plan in plans:
        stages = {event[0]: event for event in plan.events}
        if "ai_audited" in stages:
            runs.append(_audit_run(plan, stages["ai_audited"][2], routed_to, rule_version))
        if plan.decision:
            decisions.append(_decision(plan, stages.get("approved", stages.get("rejected"))[2]))
        if "packaged" in stages and plan.delivery == "pickup":
            codes.append((plan.pk, f"{int(plan.token[:8], 16) % 10**6:06d}"))
        if "shipped" in stages:
            stops.extend(_delivery(plan, stages, station.pk))
    for (run, stop), pk in zip(stops, reserve_ids(DeliveryRun, len(stops)), strict=True):
        run[0] = stop[0] = pk
    return [
        prepare(AuditRun, AUDIT_RUN, runs),
        prepare(AuditDecision, DECISION, decisions),
        prepare(PickupCode, ("prescription_id", "code"), codes),
        prepare(DeliveryRun, RUN, (tuple(run) for run, _stop in stops)),
        prepare(DeliveryStop, STOP, (tuple(stop) for _run, stop in stops)),
    ]


def sent_notifications(plans, events):
    """The notification of each announced stage, once per prescription and stage, already sent."""
    institutions = {plan.pk: plan.clinician.user.institution for plan in plans}
    seen, texts, rows = set(), {}, []
    for prescription_id, stage, _actor, _name, at, data, *_rest in events:
        if stage not in NOTIFY_STAGES or (prescription_id, stage) in seen:
            continue
        seen.add((prescription_id, stage))
        institution = institutions[prescription_id]
        key = (stage, institution.pk, data.get("expected_at", ""))
        if key not in texts:  # the same text for a stage and place
            event = SimpleNamespace(stage=stage, data=data, prescription=SimpleNamespace(institution=institution))
            texts[key] = notification_text(event)
        message = texts[key]
        rows.append((prescription_id, stage, message, NotificationStatus.SENT, 1, at, at + SENT_AFTER))
    return prepare(Notification, NOTIFICATION, rows)


def dispensing_records(plans, pharmacy) -> list[tuple]:
    """A dispensing record per dispensing (twice after a failed re-check), its id reserved and put
    in the event's details as the station does; the rows, to insert with DISPENSING."""
    made = [
        (plan.pk, actor.pk, at, data) for plan in plans for stage, actor, at, data in plan.events if stage == DISPENSED
    ]
    rows = []
    ids = reserve_ids(DispensingRecord, len(made))
    for (prescription_id, dispenser_id, at, data), pk in zip(made, ids, strict=True):
        data["record"] = pk
        rows.append((pk, prescription_id, dispenser_id, pharmacy.pk, data["weights"], at))
    return rows
