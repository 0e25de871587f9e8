"""The only writer of Prescription.status and of trace events."""

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core import tasks
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
    the state it records."""
    data = data or {}
    previous = None if first else TraceEvent.objects.filter(prescription=prescription).order_by("-seq", "-pk").first()
    prev_hash = previous.hash if previous else ""
    seq = previous.seq + 1 if previous else 1
    at = timezone.now()
    if previous and at <= previous.at:  # keep the chain's order strict even with a coarse clock
        at = previous.at + timezone.timedelta(microseconds=1)
    event = chained_event(
        prescription=prescription, stage=stage, actor=actor, at=at, data=data, seq=seq, prev_hash=prev_hash
    )
    event.save(force_insert=True)
    head = {
        "trace_count": seq,
        "trace_head": event.hash,
        "trace_head_mac": head_mac(prescription_id=prescription.pk, count=seq, head=event.hash, key_id=event.key_id),
    }
    Prescription.objects.filter(pk=prescription.pk).update(**head)
    for field, value in head.items():
        setattr(prescription, field, value)
    return event


# The Celery task (pipeline.tasks) through which each app pulls its side effects of a move —
# the audit of a new prescription, the patient's notification, the tracking page's cache — from
# the trace once the move has committed. Sent by name: it lives on a higher floor.
TRACE_ADVANCED_TASK = "pipeline.trace_advanced"


@transaction.atomic
def prescription_transition(
    *,
    prescription: Prescription,
    to: str,
    actor=None,
    data: dict | None = None,
    changes: dict | None = None,
    created: bool = False,
) -> TraceEvent:
    """Move `prescription` to stage `to` and record it: the status, the trace event and the
    milestone row in one transaction, then (after commit) the task through which each app pulls
    its side effects from the trace.

    `actor` None means the system (background work). `created`: the prescription was inserted in
    this transaction at its first stage (the table's CREATE move), so there is no status to
    compare and no event before it. Raises InvalidTransition when the workflow table has no such
    move for this prescription or the actor's roles, and ConcurrentTransition when someone else
    moved it first (compare-and-set on the status). `changes` are other Prescription fields set in
    the same UPDATE (e.g. the risk level found by the audit)."""
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
    if not created:
        updated = Prescription.objects.filter(pk=prescription.pk, status=current).update(
            status=to, updated_at=timezone.now(), **(changes or {})
        )
        if not updated:
            raise ConcurrentTransition(current, to)
    prescription.status = to
    for field, value in (changes or {}).items():
        setattr(prescription, field, value)
    event = record_event(prescription=prescription, stage=to, actor=actor, data=data, first=created)
    _milestone(prescription, event, created=created)
    transaction.on_commit(partial(tasks.enqueue, TRACE_ADVANCED_TASK, prescription.pk, to))
    return event


def _milestone(prescription: Prescription, event: TraceEvent, *, created: bool) -> None:
    stamp = {f"{event.stage}_at": event.at, "status": event.stage}
    if event.actor_id and event.stage != Stage.AI_AUDITED:
        stamp[f"{event.stage}_by_id"] = event.actor_id
    if created:
        new_milestone(prescription, **stamp).save(force_insert=True)
    else:
        Milestone.objects.filter(prescription_id=prescription.pk).update(**stamp)


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
    latest = TraceEvent.objects.filter(prescription=prescription).order_by("-at", "-pk").first()
    if prescription.status == stage and latest is not None and latest.stage == stage:
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
