"""The remote consults' trace, kept as the prescriptions' is (prescriptions.services.integrity):
each event's hash is an HMAC of its content and of the hash before it under the trace key
(settings.TCM_TRACE_KEYS, outside the database), and the consult keeps the count, the last hash
and its status under a keyed mark of their own. Someone who can write to the database but does
not hold the key cannot edit, remove or reorder a step, cut the chain short or change the status
unnoticed by `manage.py verify_consults`. Not anchored outside the database: someone holding both
the database and the key can rewrite a consult's chain whole."""

import json

from django.db import connection, transaction

from core.keys import UnknownKey, current_key_id, keyed_hash, same

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


def head_mac(consult: RemoteConsult, *, key_id: str | None = None) -> str:
    """The keyed mark of the consult's chain end and status, as "key_id:hex"."""
    key_id = key_id or current_key_id()
    text = f"{consult.pk}:{consult.event_count}:{consult.trace_head}:{consult.status}"
    return f"{key_id}:{keyed_hash(text, key_id)}"


def head_mac_valid(consult: RemoteConsult) -> bool:
    key_id = consult.trace_head_mac.partition(":")[0]
    try:
        return same(consult.trace_head_mac, head_mac(consult, key_id=key_id))
    except UnknownKey:
        return False


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
    if not head_mac_valid(consult):
        problems.append(f"{where}: its status or chain end was changed without the trace key")
    return problems


def verify_consults() -> tuple[list[str], int]:
    """Every consult's chain checked: (the problems, how many consults). The consults and their
    events are read in one snapshot: a step committing between the two reads must not look like
    a chain that was changed."""
    outermost = not connection.in_atomic_block  # (inside a caller's transaction, that one holds)
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        problems, count = [], 0
        for consult in RemoteConsult.objects.order_by("pk").iterator():
            problems += consult_trace_problems(consult)
            count += 1
        return problems, count
