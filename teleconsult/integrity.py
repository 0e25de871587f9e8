"""The remote consults' trace, kept as the prescriptions' is (prescriptions.services.integrity):
each event's hash is an HMAC of its content and of the hash before it under the trace key
(settings.TCM_TRACE_KEYS, outside the database), and the consult keeps the last hash and the count.
Someone who can write to the database but does not hold the key cannot edit, remove or reorder a
step of a consult unnoticed by `manage.py verify_consults`."""

import json

from core.keys import UnknownKey, keyed_hash, same

from .models import ConsultEvent, RemoteConsult

_CONTENT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(event: ConsultEvent, *, key_id: str) -> str:
    """HMAC-SHA256 under `key_id` of the event's content and the hash of the event before it."""
    content = {
        "consult": event.consult_id,
        "seq": event.seq,
        "step": event.step,
        "actor": event.actor_id,
        "at": event.at.isoformat(),
        "text": event.text,
        "data": event.data,
        "prev": event.prev_hash,
    }
    return keyed_hash(_CONTENT.encode(content), key_id)


def consult_trace_problems(consult: RemoteConsult) -> list[str]:
    """What is wrong with one consult's chain of events, in words; empty when it is whole."""
    where, problems, previous = f"remote consult {consult.pk}", [], ""
    events = list(ConsultEvent.objects.filter(consult=consult).order_by("seq", "pk"))
    for expected_seq, event in enumerate(events, start=1):
        try:
            edited = not same(event.hash, event_hash(event, key_id=event.key_id))
        except UnknownKey:
            problems.append(f"{where}: event {event.seq} is signed with key {event.key_id!r}, which is not configured")
        else:
            if edited:
                problems.append(f"{where}: event {event.seq} ({event.step}) was edited")
        if event.seq != expected_seq or event.prev_hash != previous:
            problems.append(f"{where}: event {event.seq} does not follow the one before it (removed or reordered)")
        previous = event.hash
    if (consult.event_count, consult.trace_head) != (len(events), previous):
        problems.append(f"{where}: it records {consult.event_count} events and has {len(events)} (removed or added)")
    return problems


def verify_consults() -> tuple[list[str], int]:
    """Every consult's chain checked: (the problems, how many consults)."""
    problems, count = [], 0
    for consult in RemoteConsult.objects.order_by("pk").iterator():
        problems += consult_trace_problems(consult)
        count += 1
    return problems, count
