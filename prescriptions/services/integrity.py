"""The trace's integrity: keyed event hashes, the chain's head kept on the prescription, anchors
of every head appended outside the database, and the check of all three.

What it protects against: anyone who can write to the database but does not hold the trace key
(settings.TCM_TRACE_KEYS, from the environment) cannot edit an event and recompute its hash,
cut a chain short, or change a status without its event, unnoticed; deleting a whole
prescription with its chain is noticed once an anchor (`manage.py anchor_trace`, daily) holds
its head. What it does not: an attacker who holds the key as well as the database can rewrite
everything after the last anchor that left the machine; an anchor file on the same machine is
only as safe as that machine (ship it elsewhere, or set TCM_TRACE_ANCHOR_URL)."""

import fcntl
import hashlib
import json
import logging
import os
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.keys import UnknownKey, current_key_id, keyed_hash, same

from ..models import Prescription, TraceEvent

logger = logging.getLogger(__name__)


# json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str), its encoder
# built once: the history generator hashes millions of events.
_CONTENT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_content(*, prescription_id: int, seq: int, stage: str, actor_id, at, data: dict, prev_hash: str) -> str:
    return _CONTENT.encode(
        {
            "prescription": prescription_id,
            "seq": seq,
            "stage": stage,
            "actor": actor_id,
            "at": at.isoformat(),
            "data": data,
            "prev": prev_hash,
        }
    )


def event_hash(*, key_id: str, **content) -> str:
    """The event's hash: HMAC-SHA256 of its content under the key `key_id`."""
    return keyed_hash(event_content(**content), key_id)


def head_mac(*, prescription_id: int, count: int, head: str, key_id: str | None = None) -> str:
    """The keyed mark of a chain's head (its length and last hash), as "key_id:hex"."""
    key_id = key_id or current_key_id()
    return f"{key_id}:{keyed_hash(f'{prescription_id}:{count}:{head}', key_id)}"


def head_mac_valid(*, prescription_id: int, count: int, head: str, mac: str) -> bool:
    key_id, _, _digest = mac.partition(":")
    try:
        return same(mac, head_mac(prescription_id=prescription_id, count=count, head=head, key_id=key_id))
    except UnknownKey:
        return False


# --- checking every chain -----------------------------------------------------------------------


def _event_problems(row, expected_seq: int, previous_hash: str) -> list[str]:
    pk, prescription_id, seq, key_id, stage, actor_id, at, data, prev_hash, stored = row
    where = f"prescription {prescription_id}: event {pk} ({stage})"
    problems = []
    try:
        expected = event_hash(
            key_id=key_id,
            prescription_id=prescription_id,
            seq=seq,
            stage=stage,
            actor_id=actor_id,
            at=at,
            data=data,
            prev_hash=prev_hash,
        )
    except UnknownKey:
        problems.append(f"{where} is signed with key {key_id!r}, which is not configured")
    else:
        if not same(expected, stored):
            problems.append(f"{where} was edited: its hash does not match its content")
    if prev_hash != previous_hash or seq != expected_seq:
        problems.append(f"{where} does not follow the event before it (an event was deleted, inserted or reordered)")
    return problems


def _chain_end_problems(prescription_id: int, head_row, last) -> list[str]:
    count, head, mac, status = head_row
    where = f"prescription {prescription_id}"
    if last is None:
        return [f"{where} has no trace events (its chain was deleted)"]
    seq, last_hash, last_stage = last
    problems = []
    if (count, head) != (seq, last_hash):
        problems.append(f"{where}: its chain ends at event {seq}, its head says {count} (events removed or added)")
    if not head_mac_valid(prescription_id=prescription_id, count=count, head=head, mac=mac):
        problems.append(f"{where}: its chain head was changed without the trace key")
    if status != last_stage:
        problems.append(f"{where}: status {status!r} has no trace event (the last event is {last_stage!r})")
    return problems


def verify_trace(*, anchors: Path | None = None) -> tuple[list[str], int, int]:
    """Check every chain: each event's keyed hash matches its content (not edited), names the
    hash of the event before it (none deleted, none reordered); the chain's end matches the head
    kept, keyed, on the prescription (not cut short; no status without its event); and every head
    in the anchors still stands (no prescription or event deleted since). Returns (problems,
    chains, events); problems name the prescription."""
    anchored, problems = read_anchors(anchors or settings.TCM_TRACE_ANCHOR_PATH)
    # The heads and the events are read in one snapshot: a move committing between the two reads
    # must not look like a chain cut short.
    outermost = not connection.in_atomic_block  # (inside a caller's transaction, that one holds)
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _check_chains(anchored, problems)


def _check_chains(anchored: dict, problems: list[str]) -> tuple[list[str], int, int]:
    heads = {
        pk: (count, head, mac, status)
        for pk, count, head, mac, status in Prescription.objects.values_list(
            "pk", "trace_count", "trace_head", "trace_head_mac", "status"
        ).iterator(chunk_size=2000)
    }
    wanted = {(pk, count) for pk, (count, _head) in anchored.items()}
    found_at, last, count = {}, {}, 0
    rows = TraceEvent.objects.order_by("prescription_id", "at", "pk").values_list(
        "pk", "prescription_id", "seq", "key_id", "stage", "actor_id", "at", "data", "prev_hash", "hash"
    )
    for row in rows.iterator(chunk_size=2000):
        count += 1
        prescription_id, seq, stored = row[1], row[2], row[9]
        previous = last.get(prescription_id, (0, "", ""))
        problems += _event_problems(row, previous[0] + 1, previous[1])
        last[prescription_id] = (seq, stored, row[4])
        if (prescription_id, seq) in wanted:
            found_at[prescription_id, seq] = stored
    for prescription_id in sorted(set(last) - set(heads)):
        problems.append(f"prescription {prescription_id} was deleted but its events remain")
    for prescription_id, head_row in heads.items():
        problems += _chain_end_problems(prescription_id, head_row, last.get(prescription_id))
    for prescription_id, (anchored_count, anchored_head) in sorted(anchored.items()):
        if prescription_id not in heads:
            problems.append(f"prescription {prescription_id} was deleted after an anchor held its chain")
        elif not same(found_at.get((prescription_id, anchored_count), ""), anchored_head):
            problems.append(
                f"prescription {prescription_id}: its first {anchored_count} events no longer match the anchor"
            )
    return problems, len(heads), count


# --- anchors ------------------------------------------------------------------------------------


def _canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def read_anchors(path: Path) -> tuple[dict, list[str]]:
    """The heads the anchors hold ({prescription id: (count, head)}, the latest for each) and the
    problems found in the anchor file itself (a line edited, removed or out of order)."""
    heads, problems, previous_mac, number = {}, [], "", 0
    if not Path(path).exists():
        return heads, problems
    for line_number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
            mac = record.pop("mac")
            key_id = mac.partition(":")[0]
            valid = same(mac, f"{key_id}:{keyed_hash(_canonical(record), key_id)}")
        except (ValueError, KeyError, AttributeError, UnknownKey):
            valid = False
            record = {}
        if not valid or record.get("prev") != previous_mac or record.get("n") != number + 1:
            problems.append(f"anchor file line {line_number} was edited, removed or reordered")
            break
        previous_mac, number = mac, record["n"]
        heads.update({int(pk): (count, head) for pk, (count, head) in record["heads"].items()})
    return heads, problems


def anchor_trace(*, path: Path | None = None) -> dict:
    """Append a keyed anchor of every chain's head to the anchor file (and send it to the webhook
    when one is configured): the heads changed since the last anchor, the number of prescriptions
    and events, and a root hash over all heads. Each anchor names the mark of the one before it,
    so the file cannot be edited or shortened in the middle unnoticed."""
    path = Path(path or settings.TCM_TRACE_ANCHOR_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)  # the beat and a manual run must not both append anchor n+1
        record = _next_anchor(path)
        out.write(_canonical(record) + "\n")
        out.flush()
        os.fsync(out.fileno())
    if settings.TCM_TRACE_ANCHOR_URL:
        _send(record)
    return record


def _next_anchor(path: Path) -> dict:
    anchored, problems = read_anchors(path)
    if problems:
        raise ValueError(f"the anchor file is damaged: {problems[0]}; verify_trace reports it")
    lines = path.read_text(encoding="utf-8").splitlines()
    previous = json.loads(lines[-1]) if lines else {"n": 0, "mac": ""}
    current = {
        pk: (count, head)
        for pk, count, head in Prescription.objects.order_by("pk").values_list("pk", "trace_count", "trace_head")
    }
    root = hashlib.sha256("".join(f"{pk}:{c}:{h}\n" for pk, (c, h) in current.items()).encode()).hexdigest()
    record = {
        "n": previous["n"] + 1,
        "at": timezone.now().isoformat(),
        "prev": previous["mac"],
        "prescriptions": len(current),
        "events": sum(count for count, _head in current.values()),
        "root": root,
        "heads": {str(pk): list(v) for pk, v in current.items() if anchored.get(pk) != v},
    }
    key_id = current_key_id()
    record["mac"] = f"{key_id}:{keyed_hash(_canonical(record), key_id)}"
    return record


def _send(record: dict) -> None:
    request = urllib.request.Request(
        settings.TCM_TRACE_ANCHOR_URL,
        data=_canonical(record).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - an operator-configured https URL
        pass
