"""Keeping the dashboards' rollups (dashboards.models) up to date.

`refresh()` folds in what moved since the last refresh: the prescriptions with a trace event at or
after the watermark (less a margin for transactions that committed late), or written after the
last event it saw (an event dated in the past), mark the months they were
submitted or dispensed in, and those months are rebuilt whole from the milestones, inside one
transaction, so a dashboard never reads half a month. Beat runs it every few minutes; a command
that writes history in the past (generate_history) asks for `refresh(full=True)`."""

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from core.bulk import bulk_transaction
from prescriptions.models import Milestone, TraceEvent

from ..models import Freshness
from .build import local_day, rebuild_dispensed, rebuild_submitted

NAME = "rollups"
MARGIN = timedelta(minutes=10)


def _month_span(month: date) -> tuple[date, date]:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return month, following - timedelta(days=1)


def _months_between(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = _month_span(month)[1] + timedelta(days=1)
    return months


def _moved_months(since, last_event_id: int) -> tuple[set, set]:
    """The months (submitted, dispensed) of prescriptions with a trace event since `since` or
    after event `last_event_id`."""
    moved = TraceEvent.objects.filter(Q(at__gte=since - MARGIN) | Q(pk__gt=last_event_id)).values("prescription_id")
    submitted, dispensed = set(), set()
    for submitted_at, dispensed_at in Milestone.objects.filter(prescription_id__in=moved).values_list(
        "submitted_at", "dispensed_at"
    ):
        if submitted_at:
            submitted.add(local_day(submitted_at).replace(day=1))
        if dispensed_at:
            dispensed.add(local_day(dispensed_at).replace(day=1))
    return submitted, dispensed


def _all_months() -> list[date]:
    span = Milestone.objects.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    if span["first"] is None:
        return []
    last = max(local_day(span["last"]), timezone.localdate())  # dispensing runs past the last submit
    return _months_between(local_day(span["first"]), last)


def refresh(*, full: bool = False) -> dict:
    """Rebuild the months that moved since the last refresh (every month when `full` or never
    refreshed). Returns how many months were rebuilt of each kind."""
    started = timezone.now()
    last_event_id = TraceEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    with transaction.atomic():
        freshness, _created = Freshness.objects.select_for_update().get_or_create(name=NAME)
        if not full and freshness.watermark is not None:
            submitted, dispensed = _moved_months(freshness.watermark, freshness.last_event_id)
            for month in sorted(submitted):
                rebuild_submitted(*_month_span(month))
            for month in sorted(dispensed):
                rebuild_dispensed(*_month_span(month))
            freshness.watermark = freshness.refreshed_at = started
            freshness.last_event_id = last_event_id
            freshness.save()
            return {"submitted_months": len(submitted), "dispensed_months": len(dispensed)}
    months = _all_months()
    for month in months:  # one transaction a month: a county's ten years need not hold one lock
        # Every row written is counted from rows read in this transaction: no need to check the
        # foreign keys row by row (core.bulk.bulk_transaction; a nested one changes nothing).
        with bulk_transaction():
            Freshness.objects.select_for_update().get(name=NAME)
            rebuild_submitted(*_month_span(month))
            rebuild_dispensed(*_month_span(month))
    Freshness.objects.filter(name=NAME).update(
        watermark=started, refreshed_at=timezone.now(), last_event_id=last_event_id
    )
    return {"submitted_months": len(months), "dispensed_months": len(months)}


def freshness() -> Freshness | None:
    """When the rollups were last rebuilt (None: never)."""
    return Freshness.objects.filter(name=NAME, refreshed_at__isnull=False).first()
