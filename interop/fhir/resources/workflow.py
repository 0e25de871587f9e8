"""The pipeline as Tasks (one per stage the prescription reached) and its trace as Provenances
(one per trace event, carrying the event's keyed hash so a reader can re-check the chain)
(docs/interop-fhir.md, "Task" and "Provenance")."""

import base64
import contextlib

from prescriptions.services.integrity import event_content

from .. import codes
from ..selectors import PrescriptionRecord
from .common import line_reference, local_id, number_identifiers, organization_reference, practitioner_reference
from .common import reference as ref

SYSTEM_ACTOR = "系统"  # what the trace names background work by (prescriptions.services.trace)
PLATFORM = "县域中药处方平台"


def task_id(prescription_pk: int, stage: str) -> str:
    return local_id(prescription_pk, codes.stage_slug(stage))


def provenance_id(prescription_pk: int, seq: int) -> str:
    return local_id(prescription_pk, seq)


def tasks(record: PrescriptionRecord) -> list[dict]:
    """One Task per stage reached, in the order first reached; a stage reached again (dispensed
    after a failed re-check) keeps its latest event's time and lists every event's Provenance."""
    by_stage: dict[str, list] = {}
    for event in record.events:
        by_stage.setdefault(event.stage, []).append(event)
    return [_task(record, stage, events) for stage, events in by_stage.items()]


def _task(record: PrescriptionRecord, stage: str, events: list) -> dict:
    prescription, latest = record.prescription, events[-1]
    number, _version = number_identifiers(prescription)
    lines = [line_reference(prescription.pk, item.position, item.written_name) for item in record.lines.items]
    task = {
        "resourceType": "Task",
        "id": task_id(prescription.pk, stage),
        "basedOn": lines,
        "groupIdentifier": number,
        "status": codes.task_status(stage),
        "businessStatus": {"coding": [codes.stage_coding(stage)], "text": codes.stage_coding(stage)["display"]},
        "intent": "order",
        "for": ref("Patient", prescription.patient_id, prescription.patient.name),
        "executionPeriod": {"start": codes.instant(latest.at)},
        "authoredOn": codes.instant(events[0].at),
        "lastModified": codes.instant(latest.at),
        "relevantHistory": [ref("Provenance", provenance_id(prescription.pk, event.seq)) for event in events],
    }
    actor = record.users.get(latest.actor_id)
    place = record.institutions.get(actor.institution_id) if actor is not None else None
    if place is not None:
        task["owner"] = organization_reference(place)
    reason = _reason(latest.data)
    if reason:
        task["statusReason"] = {"text": reason}
    return task


def _reason(data) -> str:
    """Why a stage ended the way it did: a cancellation's or a failed re-check's reason, a
    rejection's reasons."""
    if not isinstance(data, dict):
        return ""
    reasons = data.get("reasons")
    if isinstance(reasons, list) and reasons:
        return "；".join(str(reason) for reason in reasons)
    reason = data.get("reason")
    return reason.strip() if isinstance(reason, str) else ""


def provenances(record: PrescriptionRecord) -> list[dict]:
    return [_provenance(record, event) for event in record.events]


def _provenance(record: PrescriptionRecord, event) -> dict:
    prescription = record.prescription
    actor = record.users.get(event.actor_id)
    who = practitioner_reference(actor) if actor is not None else {"display": event.actor_name or SYSTEM_ACTOR}
    agent = {
        "type": {"coding": [{"system": codes.PROVENANCE_PARTICIPANT, "code": "performer", "display": "Performer"}]},
        "who": who,
    }
    place = record.institutions.get(actor.institution_id) if actor is not None else None
    if place is not None:
        agent["onBehalfOf"] = organization_reference(place)
    lines = [line_reference(prescription.pk, item.position) for item in record.lines.items]
    return {
        "resourceType": "Provenance",
        "id": provenance_id(prescription.pk, event.seq),
        "extension": [_trace_hash(prescription.pk, event)],
        "target": [ref("Task", task_id(prescription.pk, event.stage)), *lines],
        "occurredDateTime": codes.instant(event.at),
        "recorded": codes.instant(event.at),
        "activity": {"coding": [codes.stage_coding(event.stage)]},
        "agent": [agent],
        "signature": [_signature(event)],
    }


def _signature(event) -> dict:
    """The event's keyed hash (HMAC-SHA256 under the trace key `key_id`) as the signature's data:
    the 32 bytes of the hex digest, base64-encoded."""
    signature = {
        "type": [{"system": codes.SIGNATURE_TYPE, "code": "1.2.840.10065.1.12.1.14", "display": "Source Signature"}],
        "when": codes.instant(event.at),
        "who": {
            "display": f"{PLATFORM}（追溯链密钥 {event.key_id or '-'}）",
            "identifier": {"system": codes.identifier_system(codes.TRACE_KEY), "value": event.key_id or "-"},
        },
        "sigFormat": "application/octet-stream",
    }
    # A hash that is not a hex digest (none is written so) leaves the data out; the extension keeps it.
    with contextlib.suppress(ValueError):
        signature["data"] = base64.b64encode(bytes.fromhex(event.hash)).decode("ascii")
    return signature


def _trace_hash(prescription_pk: int, event) -> dict:
    """The chain link in hex as the trace keeps it: the event's hash, the previous event's (none
    for the first), its position and key, and the exact text that was hashed."""
    content = event_content(
        prescription_id=prescription_pk,
        seq=event.seq,
        stage=event.stage,
        actor_id=event.actor_id,
        at=event.at,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    parts = [{"url": "hash", "valueString": event.hash}]
    if event.prev_hash:
        parts.append({"url": "prev_hash", "valueString": event.prev_hash})
    parts += [{"url": "seq", "valueInteger": event.seq}, {"url": "content", "valueString": content}]
    if event.key_id:
        parts.append({"url": "key_id", "valueString": event.key_id})
    return {"url": codes.extension_url(codes.TRACE_HASH), "extension": parts}
