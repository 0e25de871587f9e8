"""The only writer of Prescription.status and of trace events."""

from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core import tasks
from core.db import converted, execute_together, insert_sql, update_sql
from core.ids import idempotency_key
from core.keys import current_key_id

from ..exceptions import ConcurrentTransition, InvalidTransition
from ..models import Milestone, Prescription, StuckFlag, TraceEvent
from ..permissions import can_make_move, ensure_can_make_move
from ..workflow import CREATE, Stage, find_move
from .integrity import event_hash, head_mac


def event_values(
    *, prescription_id: int, stage: str, actor, at, data: dict, seq: int, prev_hash: str, key_id: str = ""
) -> dict:
    """The fields of the trace event at position `seq` of prescription `prescription_id`'s chain
    (all but the prescription), after the event whose hash is `prev_hash`, hashed with `key_id`
    (default: the current trace key). For chained_event, and for writers that insert rows without
    model instances (the history generator)."""
    key_id = key_id or current_key_id()
    return {
        "stage": stage,
        "actor": actor,
        "actor_name": (str(actor) if actor else "系统")[:50],
        "at": at,
        "data": data,
        "seq": seq,
        "key_id": key_id,
        "prev_hash": prev_hash,
        "hash": event_hash(
            key_id=key_id,
            prescription_id=prescription_id,
            seq=seq,
            stage=stage,
            actor_id=actor.pk if actor else None,
            at=at,
            data=data,
            prev_hash=prev_hash,
        ),
    }


def chained_event(
    *, prescription: Prescription, stage: str, actor, at, data: dict, seq: int, prev_hash: str, key_id: str = ""
) -> TraceEvent:
    """The trace event at position `seq` of the prescription's chain, after the event whose hash
    is `prev_hash`, hashed with `key_id` (default: the current trace key). Not saved: the caller
    inserts it (record_event)."""
    fields = event_values(
        prescription_id=prescription.pk,
        stage=stage,
        actor=actor,
        at=at,
        data=data,
        seq=seq,
        prev_hash=prev_hash,
        key_id=key_id,
    )
    return TraceEvent(prescription=prescription, **fields)


# What a milestone row copies from its prescription, for the dashboards' filters.
MILESTONE_COPIES = ("institution_id", "prescriber_id", "urgent", "decoction", "delivery")


def milestone_values(prescription, **stamps) -> dict:
    """The fields of a prescription's milestone row: what it copies from `prescription` (anything
    with those attributes) and the stage times and actors given."""
    copied = {field: getattr(prescription, field) for field in MILESTONE_COPIES}
    return {"prescription_id": prescription.pk, **copied, **stamps}


def new_milestone(prescription: Prescription, **stamps) -> Milestone:
    """The milestone row of a prescription (not saved), with the stage times and actors given."""
    return Milestone(**milestone_values(prescription, **stamps))


def record_event(
    *, prescription: Prescription, stage: str, actor=None, data: dict | None = None, first: bool = False
) -> TraceEvent:
    """Append a trace event, chained to the prescription's previous event (`first`: the
    prescription was created in this transaction and has none), hashed with the current trace key,
    and move the chain's keyed head on the prescription. Call inside the transaction that changes
    the state it records (prescription_transition does, and records the status with it)."""
    previous = None if first else TraceEvent.objects.filter(prescription=prescription).order_by("-seq", "-pk").first()
    chain = (previous.seq, previous.hash, previous.at) if previous else (0, "", None)
    return _append(prescription, stage=stage, actor=actor, data=data or {}, chain=chain, at=_event_time(chain))


def _event_time(chain: tuple):
    """Now, or just after the chain's last event: its order stays strict even with a coarse clock."""
    at, last_at = timezone.now(), chain[2]
    return last_at + timezone.timedelta(microseconds=1) if last_at is not None and at <= last_at else at


def _append(prescription: Prescription, *, stage: str, actor, data: dict, chain: tuple, at, also=()) -> TraceEvent:
    """Insert the event at `at` after `chain` (the count, last hash and last time of the
    prescription's events) and move the keyed head on the prescription, with the statements `also`
    (the milestone), in one round trip where the database driver allows it."""
    count, last_hash, _last_at = chain
    event = chained_event(
        prescription=prescription, stage=stage, actor=actor, at=at, data=data, seq=count + 1, prev_hash=last_hash
    )
    head = {
        "trace_count": event.seq,
        "trace_head": event.hash,
        "trace_head_mac": head_mac(
            prescription_id=prescription.pk, count=event.seq, head=event.hash, key_id=event.key_id
        ),
    }
    moved_head = update_sql(Prescription, {"pk": prescription.pk}, head)
    (event.pk,) = execute_together([moved_head, *also, insert_sql([event], returning_pk=True)])
    event._state.adding, event._state.db = False, "default"
    for field, value in head.items():
        setattr(prescription, field, value)
    return event


# The Celery task (pipeline.tasks) through which each app pulls its side effects of a move —
# the audit of a new prescription, the patient's notification, the tracking page's cache — from
# the trace once the move has committed. Sent by name: it lives on a higher floor.
TRACE_ADVANCED_TASK = "pipeline.trace_advanced"


def prescription_transition(
    *,
    prescription: Prescription,
    to: str,
    actor=None,
    data: dict | None = None,
    changes: dict | None = None,
    created: bool = False,
    also=(),
) -> TraceEvent:
    """Move `prescription` to stage `to` and record it: the status, the trace event and the
    milestone row in one transaction, then (after commit) the task through which each app pulls
    its side effects from the trace. `also`: statements (core.db) sent with the event, such as
    the rows a new prescription is created with.

    `actor` None means the system (background work). `created`: the prescription was inserted in
    this transaction at its first stage (the table's CREATE move), so there is no status to
    compare and no event before it. Raises InvalidTransition when the workflow table has no such
    move for this prescription or the actor's roles, and ConcurrentTransition when someone else
    moved it first (compare-and-set on the status). `changes` are other Prescription fields set in
    the same UPDATE (e.g. the risk level found by the audit).

    Three statements in two round trips: the compare-and-set, which returns the chain's head as it
    stands under the row lock it takes, then the event, the head and the milestone together."""
    current = None if created else prescription.status
    move = (
        CREATE if created else find_move(current, to, decoction=prescription.decoction, delivery=prescription.delivery)
    )
    if move is None or move.to != to or (created and prescription.status != to):
        raise InvalidTransition(current, to)
    if actor is None:
        if not can_make_move(None, move):
            raise InvalidTransition(current, to, "this step needs a person")
    elif not can_make_move(actor, move):
        raise InvalidTransition(current, to, "your role cannot make this step")
    # Without a savepoint: a refused compare-and-set writes nothing and is raised outside the block,
    # so a caller's transaction that catches ConcurrentTransition stays usable.
    with transaction.atomic(savepoint=False):
        chain = (0, "", None) if created else _compare_and_set(prescription, current, to, changes or {})
        if chain is not None:
            prescription.status = to
            for field, value in (changes or {}).items():
                setattr(prescription, field, value)
            at = _event_time(chain)
            milestone = _milestone(prescription, stage=to, actor=actor, at=at, created=created)
            event = _append(
                prescription, stage=to, actor=actor, data=data or {}, chain=chain, at=at, also=[*also, milestone]
            )
            transaction.on_commit(partial(tasks.enqueue, TRACE_ADVANCED_TASK, prescription.pk, to))
    if chain is None:
        raise ConcurrentTransition(current, to)
    return event


def _compare_and_set(prescription: Prescription, current: str, to: str, changes: dict) -> tuple | None:
    """UPDATE … SET status = `to` WHERE id = … AND status = `current`, returning the chain's head
    (count, last hash, time of the last event); None when the status was no longer `current`."""
    sql, params = update_sql(
        Prescription,
        {"pk": prescription.pk, "status": current},
        {"status": to, "updated_at": timezone.now(), **changes},
    )
    quote = connection.ops.quote_name
    table, events = quote(Prescription._meta.db_table), quote(TraceEvent._meta.db_table)
    last_at = (
        f"(SELECT e.{quote('at')} FROM {events} e WHERE e.{quote('prescription_id')} = {table}.{quote('id')}"
        f" AND e.{quote('seq')} = {table}.{quote('trace_count')})"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {quote('trace_count')}, {quote('trace_head')}, {last_at}", params)
        row = cursor.fetchone()
    if row is None:
        return None
    count, head, at = row
    return count, head, converted(TraceEvent._meta.get_field("at"), at)


def _milestone(prescription: Prescription, *, stage: str, actor, at, created: bool) -> tuple[str, tuple]:
    """The statement that stamps the stage, at `at` (its event's time), on the prescription's
    milestone row (inserted with the prescription's first stage)."""
    stamp = {f"{stage}_at": at, "status": stage}
    if actor is not None and stage != Stage.AI_AUDITED:
        stamp[f"{stage}_by_id"] = actor.pk
    if created:  # the stages not reached yet are left NULL
        return insert_sql([new_milestone(prescription, **stamp)], only=("prescription_id", *MILESTONE_COPIES, *stamp))
    return update_sql(Milestone, {"prescription_id": prescription.pk}, stamp)


def station_event_data(actor, station: str, details: dict, request_data: dict) -> dict:
    """What a station step's trace event records: the station, the operator's institution, the
    step's details and the request's idempotency key (so a repeated request finds this event)."""
    key = idempotency_key(request_data.get("idempotency_key"))
    return {
        "station": station,
        "institution": actor.institution.code if actor.institution_id else "",
        **details,
        **({"idempotency_key": key} if key else {}),
    }


def _repeat(event: TraceEvent, actor):
    """A repeated request gets the event it already recorded; someone else's step is a conflict,
    not something to read."""
    if event.actor_id != actor.pk:
        raise ConcurrentTransition(event.stage, event.stage)
    return event, False


def prescription_record_step(*, actor, prescription: Prescription, stage: str, data: dict, files: dict, recorder):
    """Record a station step through `recorder`, the service of the app that owns the step (the
    station pages call their own; the events API looks it up in pipeline.steps.STEPS; None: no
    such step). Returns (event, created).

    Repeats record nothing new: the same idempotency key, or the same stage twice in a row,
    returns the event already recorded. Raises InvalidTransition for a step out of order (before
    looking at the data), PermissionDenied and ValidationError from the recorder."""
    if recorder is None:
        raise ValidationError({"stage": [_("“%(stage)s” is not a step that can be recorded here.") % {"stage": stage}]})
    key = idempotency_key(data.get("idempotency_key"))
    if key:
        existing = TraceEvent.objects.filter(prescription=prescription, data__idempotency_key=key).first()
        if existing:
            return _repeat(existing, actor)
    if prescription.status == stage:  # only then can it be the same step again
        latest = TraceEvent.objects.filter(prescription=prescription).order_by("-at", "-pk").first()
        if latest is not None and latest.stage == stage:
            return _repeat(latest, actor)
    move = find_move(prescription.status, stage, decoction=prescription.decoction, delivery=prescription.delivery)
    if move is None:
        raise InvalidTransition(prescription.status, stage)
    ensure_can_make_move(actor, move)
    try:
        return recorder(actor=actor, prescription=prescription, data=data, files=files), True
    except ConcurrentTransition:
        prescription.refresh_from_db(fields=["status"])
        latest = TraceEvent.objects.filter(prescription=prescription).order_by("-at", "-pk").first()
        if prescription.status == stage and latest is not None and latest.stage == stage:
            return _repeat(latest, actor)  # the same step, sent twice at once, recorded by the other request
        raise


def flag_stuck(*, limits: dict[str, int], now=None) -> tuple[int, int]:
    """Flag prescriptions that have stayed at a stage longer than its limit (minutes) and mark
    flags resolved once they moved on. Idempotent. Returns (new flags, resolved flags)."""
    now = now or timezone.now()
    created = 0
    for stage, minutes in limits.items():
        waiting = Prescription.objects.filter(status=stage, updated_at__lt=now - timezone.timedelta(minutes=minutes))
        for prescription in waiting.only("pk", "updated_at").iterator():
            _flag, was_created = StuckFlag.objects.get_or_create(
                prescription=prescription,
                stage=stage,
                since=prescription.updated_at,
                defaults={"limit_minutes": minutes},
            )
            created += was_created
    moved = StuckFlag.objects.filter(resolved_at__isnull=True).exclude(prescription__status=F("stage"))
    resolved = moved.update(resolved_at=now)
    return created, resolved
