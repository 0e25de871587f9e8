"""Write planned prescriptions in batches with bulk_create, keeping every invariant the request
path keeps: the status is the last event's stage, each event is chained and keyed with the
integrity module's own functions, the head is on the prescription, one milestone row each, the
audit run and decision match the status, stops and pickup codes match delivery."""

from contextlib import contextmanager

from audit.models import AuditDecision, AuditRun
from core.keys import current_key_id
from decoction.models import DispensingRecord
from delivery.models import DeliveryRun, DeliveryStop, Notification
from patients.models import Consult
from prescriptions.models import Milestone, Prescription, PrescriptionItem, TraceEvent
from prescriptions.services.integrity import head_mac
from prescriptions.services.trace import chained_event, new_milestone

from .plans import risk_of
from .stage_rows import dispensing_records, sent_notifications, stage_rows


@contextmanager
def own_clock(*models):
    """Let bulk_create keep the historical times we set (auto_now/auto_now_add off meanwhile)."""
    fields = [
        f
        for m in models
        for f in m._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in saved:
            f.auto_now, f.auto_now_add = now, add


def _prescription(plan, consult, number):
    herb_total = sum(g * h.unit_price for h, g, _i in plan.items) * plan.doses
    fee = 2 * plan.doses if plan.decoction == "center" else 0
    return Prescription(
        number=number,
        version=plan.version,
        status=plan.events[-1][0],
        patient=plan.patient,
        consult=consult,
        prescriber=plan.clinician.user,
        institution=plan.clinician.user.institution,
        doses=plan.doses,
        usage="每日1剂，水煎分2次温服",
        decoction=plan.decoction,
        delivery=plan.delivery,
        urgent=plan.urgent,
        formula_source=plan.formula,
        delivery_address=plan.patient.address if plan.delivery == "address" else "",
        double_signature=plan.double_signature,
        risk_level=risk_of(plan) if len(plan.events) > 1 else "",
        precheck_findings=plan.findings,
        herb_total=round(herb_total, 2),
        decoction_fee=fee,
        total=round(herb_total, 2) + fee,
        tracking_token=plan.token,
        created_at=plan.at,
        updated_at=plan.events[-1][2],
    )


def _chain(prescription, events, key_id):
    rows, prev = [], ""
    for seq, step in enumerate(events, start=1):
        stamp = dict(zip(("stage", "actor", "at", "data"), step, strict=True))
        event = chained_event(prescription=prescription, seq=seq, prev_hash=prev, key_id=key_id, **stamp)
        rows.append(event)
        prev = event.hash
    prescription.trace_count, prescription.trace_head = len(rows), prev
    prescription.trace_head_mac = head_mac(prescription_id=prescription.pk, count=len(rows), head=prev, key_id=key_id)
    return rows


def _milestone(prescription, events):
    stamps = {"status": prescription.status}
    for stage, actor, at, _data in events:  # a stage reached twice keeps its latest time, as the writer does
        stamps[f"{stage}_at"] = at
        if actor is not None and stage != "ai_audited":
            stamps[f"{stage}_by"] = actor
    return new_milestone(prescription, **stamps)


def write_batch(plans, numbers, routed_to, county, rule_version) -> int:
    """Write one batch; plans are in submit order, a revision after the version it revises.
    Returns the number of rows written."""
    key_id = current_key_id()
    with own_clock(
        Consult, Prescription, AuditRun, AuditDecision, DeliveryRun, DeliveryStop, Notification, DispensingRecord
    ):
        consults = Consult.objects.bulk_create(
            Consult(
                patient=p.patient,
                clinician=p.clinician.user,
                institution=p.clinician.user.institution,
                tcm_disease=p.disease,
                pregnancy=p.pregnancy,
                created_at=p.at,
            )
            for p in plans
        )
        objects = [_prescription(p, c, n) for p, c, n in zip(plans, consults, numbers, strict=True)]
        for first_pass in (True, False):
            chosen = [(p, o) for p, o in zip(plans, objects, strict=True) if (p.previous is None) == first_pass]
            for plan, obj in chosen:  # a revision's first version may be in this batch: inserted by now
                obj.previous = plan.previous.prescription if plan.previous else None
            Prescription.objects.bulk_create([o for _p, o in chosen])
            for plan, obj in chosen:
                plan.prescription = obj
        rows = dispensing_records(plans, county.pharmacy)  # before the chain: its events name them
        events = [e for p, o in zip(plans, objects, strict=True) for e in _chain(o, p.events, key_id)]
        Prescription.objects.bulk_update(objects, ["trace_count", "trace_head", "trace_head_mac"])
        TraceEvent.objects.bulk_create(events)
        told = Notification.objects.bulk_create(sent_notifications(events))
        rows += len(consults) + 2 * len(objects) + len(events) + len(told)
        rows += len(
            PrescriptionItem.objects.bulk_create(
                PrescriptionItem(
                    prescription=o,
                    position=n,
                    herb=h,
                    written_name=h.name,
                    grams=g,
                    instruction=i,
                    unit_price=h.unit_price,
                )
                for p, o in zip(plans, objects, strict=True)
                for n, (h, g, i) in enumerate(p.items, start=1)
            )
        )
        Milestone.objects.bulk_create(_milestone(o, p.events) for p, o in zip(plans, objects, strict=True))
        rows += stage_rows(plans, routed_to, county.station, rule_version)
    return rows
