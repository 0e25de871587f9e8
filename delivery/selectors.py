"""Reads of the delivery app: the prescription behind a tracking token, what waits for a courier,
the announced stages left without a notification, a courier's open runs, a failed delivery attempt,
how long each stage has recently taken and so when the medicine should arrive."""

import itertools
import statistics
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.utils import timezone

from prescriptions.models import Prescription, TraceEvent
from prescriptions.selectors import prescriptions_for_stations
from prescriptions.workflow import TIMELINE, Decoction, DeliveryMode, Stage

from .models import DeliveryRun, DeliveryStop, Notification, StopStatus

STAGE_DURATIONS_KEY = "track:durations"


def tracking_lookup(token: str) -> Prescription | None:
    """The prescription behind a tracking token; None for a wrong, revoked or malformed token."""
    if not token or len(token) > 64:
        return None
    return (
        Prescription.objects.select_related("patient", "institution")
        .prefetch_related("events", "items")
        .filter(tracking_token=token)
        .first()
    )


def prescriptions_waiting_for_courier(user):
    """Packaged for delivery to an address, visible to the user's station, on no open run yet;
    urgent ones first, then the longest waiting."""
    return (
        prescriptions_for_stations(user)
        .filter(status=Stage.PACKAGED, delivery=DeliveryMode.ADDRESS)
        .exclude(delivery_stops__run__is_open=True)
        .select_related("patient")
        .order_by("-urgent", "updated_at")
    )


def events_without_notification(*, stages, up_to_id: int, since):
    """Trace events of `stages` with ids up to `up_to_id`, written since `since`, whose
    prescription has no notification of that stage; oldest first."""
    announced = Notification.objects.filter(prescription_id=OuterRef("prescription_id"), stage=OuterRef("stage"))
    return (
        TraceEvent.objects.filter(stage__in=stages, pk__lte=up_to_id, at__gte=since)
        .exclude(Exists(announced))
        .select_related("prescription__institution")
        .order_by("pk")
    )


def open_runs_of(courier):
    return DeliveryRun.objects.filter(courier=courier, is_open=True).prefetch_related("stops__prescription__patient")


def stage_durations(sample: int = 300) -> dict[str, list[float]]:
    """Recent seconds spent between consecutive stages, per stage entered (cached 5 minutes)."""
    cached = cache.get(STAGE_DURATIONS_KEY)
    if cached is not None:
        return cached
    rows = TraceEvent.objects.order_by("-pk").values_list("prescription_id", "stage", "at")[: sample * 10]
    by_prescription: dict[int, list] = {}
    for prescription_id, stage, at in rows:
        by_prescription.setdefault(prescription_id, []).append((at, stage))
    durations: dict[str, list[float]] = {}
    for events in by_prescription.values():
        events.sort()
        for (before, _stage), (after, stage) in itertools.pairwise(events):
            durations.setdefault(stage, []).append((after - before).total_seconds())
    cache.set(STAGE_DURATIONS_KEY, durations, 300)
    return durations


def path_of(prescription: Prescription) -> list[str]:
    """The stages this prescription goes through, in order."""
    path = [
        s for s in TIMELINE if not (prescription.decoction == Decoction.SELF and s in (Stage.SOAKING, Stage.DECOCTING))
    ]
    if prescription.delivery == DeliveryMode.PICKUP:
        path = [s for s in path if s not in (Stage.SHIPPED, Stage.DELIVERED)] + [Stage.PICKED_UP]
    return path


def expected_ready(prescription: Prescription, now=None) -> dict | None:
    """When the medicine should arrive: now plus the recent median of each remaining stage, with
    a range from the 25th to the 75th percentile. None when done or with no history yet."""
    now = now or timezone.now()
    path = path_of(prescription)
    if prescription.status not in path or prescription.status == path[-1]:
        return None
    remaining = path[path.index(prescription.status) + 1 :]
    durations = stage_durations()
    low = mid = high = 0.0
    for stage in remaining:
        values = sorted(durations.get(stage, []))
        if len(values) < 3:
            values = sorted(values + [1800.0, 3600.0, 5400.0])  # half an hour to 90 minutes until we know better
        quartiles = statistics.quantiles(values, n=4)
        low, mid, high = low + quartiles[0], mid + statistics.median(values), high + quartiles[2]
    return {
        "at": now + timedelta(seconds=mid),
        "earliest": now + timedelta(seconds=low),
        "latest": now + timedelta(seconds=high),
    }


def stop_in_view(stops: list, chosen_pk: int | None) -> int:
    """Which of a run's stops the courier's page shows (its index): the one asked for, else the
    first still to be delivered (waiting or on the way), else the first that failed, else the first."""
    for index, stop in enumerate(stops):
        if stop.pk == chosen_pk:
            return index
    for wanted in (("waiting", "shipped"), ("failed",)):
        for index, stop in enumerate(stops):
            if stop.status in wanted:
                return index
    return 0


def failed_attempt(prescription: Prescription) -> DeliveryStop | None:
    """The stop of a shipped prescription whose last delivery attempt failed (rescheduled to its
    `expected_at`); None when it is not shipped or its stop has not failed."""
    if prescription.status != Stage.SHIPPED:
        return None
    stop = DeliveryStop.objects.filter(prescription=prescription).order_by("-pk").first()
    return stop if stop is not None and stop.status == StopStatus.FAILED else None
