"""Write planned prescriptions in batches as rows (core.bulk: COPY on PostgreSQL), keeping every
invariant the request path keeps: the status is the last event's stage, each event is chained and
keyed with the trace module's own functions, the head is on the prescription, one milestone row
each, the audit run and decision match the status, stops and pickup codes match delivery.

No model instance is built per row: the ids are reserved first, so every row, the chain's hashes
and the heads can be computed before anything is inserted, and nothing is updated after."""

from core.bulk import prepare, reserve_ids
from core.keys import current_key_id
from decoction.models import DispensingRecord
from patients.models import Consult, Patient
from prescriptions.models import Milestone, Prescription, PrescriptionItem, TraceEvent
from prescriptions.services.integrity import head_mac
from prescriptions.services.trace import event_values, milestone_values

from .plans import risk_of
from .stage_rows import DISPENSING, STAGE_TABLES, dispensing_records, sent_notifications, stage_rows
from .station import STATION_TABLES

CONSULT = ("id", "patient_id", "clinician_id", "institution_id", "tcm_disease", "pregnancy", "created_at")
PRESCRIPTION = (
    *("id", "number", "version", "previous_id", "status", "patient_id", "consult_id", "prescriber_id"),
    *("institution_id", "doses", "usage", "decoction", "delivery", "delivery_address", "urgent"),
    *("formula_source", "double_signature", "risk_level", "precheck_findings", "herb_total", "decoction_fee"),
    *("total", "tracking_token", "trace_count", "trace_head", "trace_head_mac", "created_at", "updated_at"),
)
EVENT = ("prescription_id", "stage", "actor_id", "actor_name", "at", "data", "seq", "key_id", "prev_hash", "hash")
ITEM = ("prescription_id", "position", "herb_id", "written_name", "grams", "instruction", "unit_price")
MILESTONE = tuple(f.attname for f in Milestone._meta.concrete_fields)
USAGE = "每日1剂，水煎分2次温服"
# Every table the history writes rows to (its foreign keys are checked after a fast load).
WRITTEN = (
    *(Patient, Consult, Prescription, TraceEvent, PrescriptionItem, Milestone, DispensingRecord),
    *STAGE_TABLES,
    *STATION_TABLES,
)


class Written:
    """What the milestone copies from a prescription (trace.MILESTONE_COPIES), without a model."""

    def __init__(self, plan):
        user = plan.clinician.user
        self.pk, self.institution_id, self.prescriber_id = plan.pk, user.institution_id, user.pk
        self.urgent, self.decoction, self.delivery = plan.urgent, plan.decoction, plan.delivery


def _chain(plan, key_id):
    """The plan's events as rows, each hashed after the one before; and the chain's head."""
    rows, prev = [], ""
    for seq, (stage, actor, at, data) in enumerate(plan.events, start=1):
        event = event_values(
            prescription_id=plan.pk, stage=stage, actor=actor, at=at, data=data, seq=seq, prev_hash=prev, key_id=key_id
        )
        actor_id = actor.pk if actor else None
        rows.append((plan.pk, stage, actor_id, event["actor_name"], at, data, seq, key_id, prev, event["hash"]))
        prev = event["hash"]
    mac = head_mac(prescription_id=plan.pk, count=len(rows), head=prev, key_id=key_id)
    return rows, (len(rows), prev, mac)


def _prescription(plan, consult_id, head):
    user, patient = plan.clinician.user, plan.patient
    herb_total = round(sum(g * h.unit_price for h, g, _i in plan.items) * plan.doses, 2)
    fee = 2 * plan.doses if plan.decoction == "center" else 0
    previous = plan.previous.pk if plan.previous else None
    status, last_at = plan.events[-1][0], plan.events[-1][2]
    address = patient.address if plan.delivery == "address" else ""
    risk = risk_of(plan) if len(plan.events) > 1 else ""
    return (
        *(plan.pk, plan.number, plan.version, previous, status, patient.pk, consult_id, user.pk),
        *(user.institution_id, plan.doses, USAGE, plan.decoction, plan.delivery, address, plan.urgent),
        *(plan.formula, plan.double_signature, risk, plan.findings, herb_total, fee),
        *(herb_total + fee, plan.token, *head, plan.at, last_at),
    )


def _milestone(plan):
    stamps = {"status": plan.events[-1][0]}
    for stage, actor, at, _data in plan.events:  # a stage reached twice keeps its latest time, as the writer does
        stamps[f"{stage}_at"] = at
        if actor is not None and stage != "ai_audited":
            stamps[f"{stage}_by_id"] = actor.pk
    values = milestone_values(Written(plan), **stamps)
    return tuple(values.get(column) for column in MILESTONE)


def _consult(plan, consult_id):
    user = plan.clinician.user
    return (consult_id, plan.patient.pk, user.pk, user.institution_id, plan.disease, plan.pregnancy, plan.at)


def _items(plans):
    for plan in plans:
        for n, (h, g, i) in enumerate(plan.items, start=1):
            yield plan.pk, n, h.pk, h.name, g, i, h.unit_price


def batch_rows(plans, routed_to, county, rule_version) -> list:
    """One batch's rows, made ready to write (core.bulk loads); plans are in submit order, numbers
    drawn, a revision after the version it revises. Its ids are reserved: nothing else is asked of
    the database, so the batch can be written while the next one is made."""
    key_id = current_key_id()
    consult_ids = reserve_ids(Consult, len(plans))
    for plan, pk in zip(plans, reserve_ids(Prescription, len(plans)), strict=True):
        plan.pk = pk
    dispensings = dispensing_records(plans, county.pharmacy)  # before the chain: its events name them
    events, heads = [], []
    for plan in plans:
        chain, head = _chain(plan, key_id)
        events += chain
        heads.append(head)
    return [
        prepare(Consult, CONSULT, map(_consult, plans, consult_ids)),
        prepare(Prescription, PRESCRIPTION, map(_prescription, plans, consult_ids, heads)),
        prepare(DispensingRecord, DISPENSING, dispensings),
        prepare(TraceEvent, EVENT, events),
        prepare(PrescriptionItem, ITEM, _items(plans)),
        prepare(Milestone, MILESTONE, map(_milestone, plans)),
        sent_notifications(plans, events),
        *stage_rows(plans, routed_to, county.station, rule_version),
    ]
