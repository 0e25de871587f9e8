"""The patient notifications, pulled from the prescriptions' trace (the trace is the outbox).

A pull claims the trace events delivery has not handled yet; for each it writes the notification
of an announced stage, and after its commit it enqueues the sending and drops the cached tracking
pages of every prescription that moved. A periodic reconciliation writes the notification of an
announced stage the pull stepped over. Sending goes through the configured backend, once."""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import tasks
from prescriptions.models import TraceEvent
from prescriptions.workflow import Stage

from ..models import Notification, TraceCursor
from ..selectors import events_without_notification
from .pages import forget_tracking_pages, track_cache_keys

logger = logging.getLogger(__name__)

NOTIFY_STAGES = {
    Stage.APPROVED: "您在{institution}的中药处方已通过药师审核，正在安排调剂。",
    Stage.REJECTED: "您的中药处方需要医师调整，医院会与您联系。",
    Stage.DECOCTING: "您的中药正在煎煮。",
    Stage.SHIPPED: "您的中药已发出，预计{expected}送达。",
    Stage.DELIVERED: "您的中药已送达，请按说明服用。",
}
CURSOR = "delivery"
# An id not visible below a visible one belongs to a transaction still open or rolled back. Once
# the pulls have seen it missing for this long, the transaction is taken as rolled back and the
# cursor steps over it; until then the events above the gap are remembered as handled, one by one.
# Measured from when a pull first saw the gap, never from the events' times: `at` is when an
# event was written, and its transaction may commit minutes later. An event stepped over that
# commits after all is announced by notifications_reconcile.
IN_FLIGHT_GRACE = timedelta(minutes=2)
# How far back the reconciliation looks for an announced stage left without its notification.
RECONCILE_WINDOW = timedelta(days=1)
# How often a pull adds a mark to the cursor's `gaps_seen` while gaps stay open (a skipped mark
# only makes a gap look younger, so the list stays short under a burst of pulls).
GAP_MARK_EVERY = timedelta(seconds=10)


def trace_pull(*, limit: int = 500) -> int:
    """Handle up to `limit` trace events delivery has not handled yet, oldest id first: write the
    notification of each announced stage (once per prescription and stage, so a stage entered
    again is not announced again); after commit, enqueue each new notification and drop the cached
    tracking pages of each prescription that moved. Returns how many events were handled.

    One transaction: the cursor row is locked (a concurrent pull waits, then finds only what is
    left) and moves with the notifications written, so a crash loses nothing and repeats nothing."""
    with transaction.atomic():
        cursor, _created = TraceCursor.objects.select_for_update().get_or_create(name=CURSOR)
        handled = set(cursor.handled_above)
        events = list(
            TraceEvent.objects.filter(pk__gt=cursor.last_event_id)
            .exclude(pk__in=handled)
            .select_related("prescription__institution")
            .order_by("pk")[:limit]
        )
        if not events and not handled:
            return 0
        written = _announce(events)
        keys = _cached_pages_of(events)
        got = handled | {event.pk for event in events}
        # Every id up to here that this pull did not get was invisible to it (open or rolled
        # back); above the last event of a full batch, the pull did not look.
        seen_through = events[-1].pk if len(events) == limit else max(got)
        position, above, gaps_seen = _advance(cursor.last_event_id, got, seen_through, cursor.gaps_seen)
        TraceCursor.objects.filter(pk=cursor.pk).update(
            last_event_id=position, handled_above=sorted(above), gaps_seen=gaps_seen, updated_at=timezone.now()
        )
        for notification_id in written:
            transaction.on_commit(partial(enqueue_notification, notification_id))
        if keys:
            transaction.on_commit(partial(forget_tracking_pages, keys))
    return len(events)


@transaction.atomic
def notifications_reconcile() -> list[int]:
    """Write the missing notification of each announced stage the cursor has passed in the last
    RECONCILE_WINDOW: an event whose transaction committed after the pull had stepped over its id
    (open longer than IN_FLIGHT_GRACE) is announced here instead. Idempotent: a prescription has
    one notification per stage (a unique constraint), so a second run, or a pull racing this one,
    writes nothing twice. The sends are enqueued after commit. Returns the new notifications' ids."""
    position = TraceCursor.objects.filter(name=CURSOR).values_list("last_event_id", flat=True).first() or 0
    events = events_without_notification(
        stages=list(NOTIFY_STAGES), up_to_id=position, since=timezone.now() - RECONCILE_WINDOW
    )
    written = []
    for event in events:
        if notification_id := _write_notification(event):
            logger.warning(
                "announced %s of prescription %s, stepped over by the trace pull", event.stage, event.prescription_id
            )
            written.append(notification_id)
            transaction.on_commit(partial(enqueue_notification, notification_id))
    return written


def notification_text(event: TraceEvent) -> str:
    """The patient's message for `event`. Every time in it is local (TIME_ZONE): the trace keeps
    times as ISO strings in UTC, which a patient must never read."""
    expected = event.data.get("expected_at", "")
    message = NOTIFY_STAGES[event.stage].format(
        institution=event.prescription.institution.name,
        expected=local_when(datetime.fromisoformat(expected)) if expected else "今天",
    )
    return message[:300]


def local_when(moment: datetime, now: datetime | None = None) -> str:
    """A time as a patient reads it, in local time: 今天 14:30, 明天 09:00, else 12月6日 09:00."""
    moment, today = timezone.localtime(moment), timezone.localdate(now or timezone.now())
    day = {today: "今天", today + timedelta(days=1): "明天"}.get(moment.date(), f"{moment.month}月{moment.day}日")
    return f"{day}{moment:%H:%M}"


def _announce(events: list[TraceEvent]) -> list[int]:
    """Write the notification of each announced stage not announced yet; the new rows' ids."""
    announced = [event for event in events if event.stage in NOTIFY_STAGES]
    if not announced:
        return []
    done = set(
        Notification.objects.filter(prescription_id__in={event.prescription_id for event in announced}).values_list(
            "prescription_id", "stage"
        )
    )
    written = []
    for event in announced:
        if (event.prescription_id, event.stage) in done:
            continue  # a stage entered again is announced once
        done.add((event.prescription_id, event.stage))
        if notification_id := _write_notification(event):
            written.append(notification_id)
    return written


def _write_notification(event: TraceEvent) -> int | None:
    """The new notification's id; None when the prescription has one of this stage already."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                prescription_id=event.prescription_id, stage=event.stage, message=notification_text(event)
            )
    except IntegrityError:
        return None  # written by something outside the cursor's lock (the reconciliation)
    return notification.pk


def _cached_pages_of(events: list[TraceEvent]) -> list[str]:
    """The cache keys of the tracking pages of each prescription that moved. A first version's
    `submitted` event needs none: its token is new, nothing can have cached its page."""
    tokens = {
        event.prescription.tracking_token
        for event in events
        if event.prescription.tracking_token
        and not (event.stage == Stage.SUBMITTED and event.prescription.version == 1)
    }
    return [key for token in sorted(tokens) for key in track_cache_keys(token)]


def _advance(position: int, got: set[int], seen_through: int, gaps_seen: list) -> tuple[int, set[int], list]:
    """The cursor moves over every handled id that follows it with no gap, and over a gap once the
    pulls have seen it missing for IN_FLIGHT_GRACE (this pull among them: a gap above
    `seen_through` it did not look at is not stepped over). Returns (position, handled ids above
    it, the marks of `gaps_seen` still needed, with this pull's own)."""
    now = timezone.now()
    marks = [(top, datetime.fromisoformat(at)) for top, at in gaps_seen]
    old_enough = now - IN_FLIGHT_GRACE
    for pk in sorted(got):
        if pk != position + 1:
            gap_top = pk - 1
            first_seen = min((at for top, at in marks if top >= gap_top), default=now)
            if gap_top > seen_through or first_seen > old_enough:
                break
        position = pk
    marks = [(top, at) for top, at in marks if top > position]
    newest = marks[-1] if marks else (position, now - GAP_MARK_EVERY)
    if seen_through > newest[0] and newest[1] <= now - GAP_MARK_EVERY:
        marks.append((seen_through, now))
    return position, {pk for pk in got if pk > position}, [[top, at.isoformat()] for top, at in marks]


def enqueue_notification(notification_id: int) -> None:
    """After commit. Sent by name (the tasks module imports these services); a broker error leaves
    the outbox row pending for the sweep."""
    tasks.enqueue("delivery.send_notification", notification_id)


def notification_send(*, notification_id: int, backend) -> Notification | None:
    """Send once: a row already sent is left alone. Raises the backend's error for a retry."""
    notification = Notification.objects.select_related("prescription__patient").filter(pk=notification_id).first()
    if notification is None or notification.status == "sent":
        return notification
    claimed = Notification.objects.filter(pk=notification.pk, status="pending", attempts=notification.attempts).update(
        attempts=notification.attempts + 1
    )
    if not claimed:
        return notification  # another worker is sending it
    try:
        backend.send(
            phone=notification.prescription.patient.mobile,
            message=notification.message,
            reference=f"{notification.prescription.number}:{notification.stage}",
        )
    except Exception as exc:
        Notification.objects.filter(pk=notification.pk).update(last_error=str(exc)[:300])
        raise
    Notification.objects.filter(pk=notification.pk).update(status="sent", sent_at=timezone.now(), last_error="")
    notification.refresh_from_db()
    return notification
