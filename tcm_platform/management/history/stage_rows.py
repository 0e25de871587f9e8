"""The rows the stage apps keep beside the trace: audit runs and decisions, delivery runs with
their stops (a failed stop before the delivered one), pickup codes, and the patients'
notifications of the announced stages, sent at the time (so delivery's pull of the trace finds
them written and announces nothing of the past again)."""

from datetime import timedelta

from audit.models import AuditDecision, AuditRun
from decoction.models import DispensingRecord
from delivery.models import DeliveryRun, DeliveryStop, Notification, NotificationStatus, PickupCode
from delivery.services.notifications import NOTIFY_STAGES, notification_text
from rules.engine import ENGINE_VERSION

from .plans import risk_of

SENT_AFTER = timedelta(seconds=20)


def _audit_run(plan, at, routed_to, rule_version):
    obj = plan.prescription
    return AuditRun(
        prescription=obj,
        rule_version=rule_version,
        engine_version=ENGINE_VERSION,
        duration_ms=1.0,
        findings=plan.findings,
        risk_level=risk_of(plan),
        routed_to=routed_to(obj.institution),
        created_at=at,
    )


def _decision(plan, at):
    made = dict(zip(("pharmacist", "decision", "reasons", "overrides"), plan.decision, strict=True))
    return AuditDecision(prescription=plan.prescription, created_at=at, **made)


def _delivery(plan, stages, station):
    """A run and stop per attempt: a failed attempt, then the one that delivered (or is on its way)."""
    obj, (_stage, courier, at, _data) = plan.prescription, stages["shipped"]
    last = "delivered" if "delivered" in stages else "shipped"
    closed = stages.get("delivered", stages["shipped"])[2]
    for status in ["failed", last] if plan.failed_delivery else [last]:
        run = DeliveryRun(station=station, courier=courier, area=obj.patient.township or "—", created_at=at)
        run.is_open, run.closed_at = status == "shipped", None if status == "shipped" else closed
        reason = "家中无人" if status == "failed" else ""
        yield run, DeliveryStop(prescription=obj, position=1, status=status, expected_at=at, failure_reason=reason)


def stage_rows(plans, routed_to, station, rule_version) -> int:
    runs, decisions, stops, codes = [], [], [], []
    for plan in plans:
        stages = {event[0]: event for event in plan.events}
        if "ai_audited" in stages:
            runs.append(_audit_run(plan, stages["ai_audited"][2], routed_to, rule_version))
        if plan.decision:
            decisions.append(_decision(plan, stages.get("approved", stages.get("rejected"))[2]))
        if "packaged" in stages and plan.delivery == "pickup":
            codes.append(PickupCode(prescription=plan.prescription, code=f"{int(plan.token[:8], 16) % 10**6:06d}"))
        if "shipped" in stages:
            stops.extend(_delivery(plan, stages, station))
    AuditRun.objects.bulk_create(runs)
    AuditDecision.objects.bulk_create(decisions)
    PickupCode.objects.bulk_create(codes)
    DeliveryRun.objects.bulk_create([run for run, _stop in stops])
    for run, stop in stops:
        stop.run, stop.updated_at = run, run.created_at
    DeliveryStop.objects.bulk_create([stop for _run, stop in stops])
    return len(runs) + len(decisions) + len(codes) + 2 * len(stops)


def sent_notifications(events):
    """The notification of each announced stage, once per prescription and stage, already sent."""
    seen = set()
    for event in events:
        if event.stage in NOTIFY_STAGES and (event.prescription_id, event.stage) not in seen:
            seen.add((event.prescription_id, event.stage))
            yield Notification(
                prescription=event.prescription,
                stage=event.stage,
                message=notification_text(event),
                status=NotificationStatus.SENT,
                attempts=1,
                created_at=event.at,
                sent_at=event.at + SENT_AFTER,
            )


def dispensing_records(plans, pharmacy) -> int:
    """A dispensing record per dispensing (twice after a failed re-check), its id put in the
    event's details as the station does."""
    made = [
        (
            data,
            DispensingRecord(
                prescription=plan.prescription,
                dispenser=actor,
                pharmacy=pharmacy,
                weights=data["weights"],
                created_at=at,
            ),
        )
        for plan in plans
        for stage, actor, at, data in plan.events
        if stage == "dispensed"
    ]
    DispensingRecord.objects.bulk_create([record for _data, record in made])
    for data, record in made:
        data["record"] = record.pk
    return len(made)
