"""Delivery runs, shipping, delivery and pickup; the patient's tracking data; the notification
outbox. The stage changes go through prescriptions' prescription_transition."""

import itertools
import logging
import secrets
import statistics
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import InstitutionKind
from accounts.permissions import has_capability
from core.cache import count_and_get
from core.images import normalize_photo
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import prescription_transition, station_event_data
from prescriptions.workflow import TIMELINE, Decoction, DeliveryMode, Stage

from .models import DeliveryRun, DeliveryStop, Notification, PickupCode, StopStatus

logger = logging.getLogger(__name__)

NOTIFY_STAGES = {
    Stage.APPROVED: "您在{institution}的中药处方已通过药师审核，正在安排调剂。",
    Stage.REJECTED: "您的中药处方需要医师调整，医院会与您联系。",
    Stage.DECOCTING: "您的中药正在煎煮。",
    Stage.SHIPPED: "您的中药已发出，预计{expected}送达。",
    Stage.DELIVERED: "您的中药已送达，请按说明服用。",
}
TRACK_CACHE_SECONDS = 300


# --- notifications and cache invalidation (called inside every status change) ------------------


def track_cache_keys(token: str) -> list[str]:
    return [f"track:{kind}:{token}:{language}" for kind in ("page", "json") for language in ("zh-hans", "en")]


def on_transition(prescription: Prescription, event: TraceEvent) -> None:
    """Write the patient notification to the outbox in the same transaction; after commit, send
    it and drop the cached tracking page."""
    if event.stage in NOTIFY_STAGES:
        expected = event.data.get("expected_at", "")
        message = NOTIFY_STAGES[event.stage].format(
            institution=prescription.institution.name, expected=expected[11:16] if expected else "今天"
        )
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    prescription=prescription, stage=event.stage, message=message[:300]
                )
        except IntegrityError:
            notification = None  # announced already (a revisited stage is announced once)
        if notification is not None:
            transaction.on_commit(lambda: enqueue_notification(notification.pk))
    fresh = event.stage == Stage.SUBMITTED and prescription.version == 1  # a new token: nothing cached
    if prescription.tracking_token and not fresh:
        keys = track_cache_keys(prescription.tracking_token)
        transaction.on_commit(lambda: forget_tracking_pages(keys))


def forget_tracking_pages(keys: list[str]) -> None:
    """After commit. A cache outage must not fail a step that has committed; the page then expires
    on its own within TRACK_CACHE_SECONDS."""
    try:
        cache.delete_many(keys)
    except Exception:  # noqa: BLE001 - any cache error
        logger.warning("could not drop cached tracking pages %s", keys, exc_info=True)


def enqueue_notification(notification_id: int) -> None:
    from .tasks import send_notification

    try:
        send_notification.delay(notification_id)
    except Exception:  # noqa: BLE001 - any broker error: the outbox row stays pending for the sweep
        logger.warning("could not enqueue notification %s", notification_id, exc_info=True)


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


# --- tracking -------------------------------------------------------------------------------------


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


def stage_durations(sample: int = 300) -> dict[str, list[float]]:
    """Recent seconds spent between consecutive stages, per stage entered (cached 5 minutes)."""
    cached = cache.get("track:durations")
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
    cache.set("track:durations", durations, 300)
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


def tracking_data(prescription: Prescription, *, full: bool) -> dict:
    """What the patient's page shows. Masked by default: no diagnosis, ID, phone or address beyond
    the township; `full` (after the last 4 digits of the mobile) adds the herbs and usage."""
    done = {}
    for event in prescription.events.all():
        done.setdefault(event.stage, event.at)
    path = path_of(prescription)
    timeline = [
        {
            "stage": stage,
            "label": str(Stage(stage).label),
            "at": done.get(stage),
            "done": stage in done,
            "current": stage == prescription.status,
        }
        for stage in path
    ]
    expected = expected_ready(prescription)
    data = {
        "number": prescription.display_number,
        "patient": prescription.patient.masked_name,
        "township": prescription.patient.township or prescription.institution.township,
        "institution": prescription.institution.name,
        "phone": prescription.institution.phone,
        "status": prescription.status,
        "status_label": str(Stage(prescription.status).label),
        "stopped": prescription.status in (Stage.REJECTED, Stage.CANCELLED),
        "timeline": timeline,
        "expected": expected,
        "decoction": prescription.decoction,
        "doses": prescription.doses,
        "full": full,
    }
    if full:
        data["usage"] = prescription.usage
        data["herbs"] = [
            {"name": item.written_name, "grams": f"{item.grams.normalize():f}"} for item in prescription.items.all()
        ]
        code = getattr(prescription, "pickup_code", None)
        if prescription.delivery == DeliveryMode.PICKUP:
            data["pickup_code"] = (code or pickup_code_for(prescription)).code
    return data


def rate_limited(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one hit; True when more than `limit` hits fell in the current `window` seconds."""
    return rate_limited_read(scope, key, limit=limit, window=window)[0]


def rate_limited_read(scope: str, key: str, *, limit: int, window: int, cached: str = "") -> tuple[bool, object]:
    """rate_limited(), and the cache value at `cached` (None when absent) read in the same round
    trip: the tracking page serves most scans with one cache call."""
    bucket = f"rl:{scope}:{key}:{int(timezone.now().timestamp()) // window}"
    hits, value = count_and_get(bucket, window + 5, cached or None)
    return hits > limit, value


VERIFY_LIMIT, VERIFY_WINDOW = 5, 15 * 60


def tracking_verify(*, prescription: Prescription, last4: str, client: str) -> bool:
    """True when `last4` are the last four digits of the patient's mobile. The sixth try from the
    same client for the same token within 15 minutes is refused, right or wrong."""
    if rate_limited("verify", f"{prescription.tracking_token}:{client}", limit=VERIFY_LIMIT, window=VERIFY_WINDOW):
        raise PermissionDenied(_("Too many tries. Please wait 15 minutes or call the clinic."))
    return bool(last4) and len(last4) == 4 and secrets.compare_digest(last4, prescription.patient.mobile[-4:])


def pickup_code_for(prescription: Prescription) -> PickupCode:
    code, _created = PickupCode.objects.get_or_create(
        prescription=prescription, defaults={"code": f"{secrets.randbelow(10**6):06d}"}
    )
    return code


# --- delivery runs and the delivery stages ----------------------------------------------------------


def ensure_courier(actor):
    if not has_capability(actor, "deliver") or not actor.institution_id:
        raise PermissionDenied(_("Only a courier of a delivery station does this."))
    if actor.institution.kind != InstitutionKind.DELIVERY_STATION:
        raise PermissionDenied(_("Only a courier of a delivery station does this."))


@transaction.atomic
def run_create(*, courier, prescriptions, area: str) -> DeliveryRun:
    """Group packaged prescriptions (delivered to an address, not on another run) into a run."""
    ensure_courier(courier)
    prescriptions = list(prescriptions)
    if not prescriptions:
        raise ValidationError({"prescriptions": [_("Choose at least one prescription.")]})
    for prescription in prescriptions:
        if prescription.status != Stage.PACKAGED or prescription.delivery != DeliveryMode.ADDRESS:
            raise ValidationError(
                {
                    "prescriptions": [
                        _("%(number)s is not packaged for delivery.") % {"number": prescription.display_number}
                    ]
                }
            )
        if DeliveryStop.objects.filter(prescription=prescription, run__is_open=True).exists():
            raise ValidationError(
                {
                    "prescriptions": [
                        _("%(number)s is already on an open run.") % {"number": prescription.display_number}
                    ]
                }
            )
    run = DeliveryRun.objects.create(station=courier.institution, courier=courier, area=area.strip()[:50] or "—")
    DeliveryStop.objects.bulk_create(
        DeliveryStop(run=run, prescription=p, position=n) for n, p in enumerate(prescriptions, start=1)
    )
    return run


def _open_stop(actor, prescription: Prescription) -> DeliveryStop:
    ensure_courier(actor)
    stop = (
        DeliveryStop.objects.select_related("run")
        .filter(prescription=prescription, run__courier=actor, run__is_open=True)
        .order_by("-pk")
        .first()
    )
    if stop is None:
        raise PermissionDenied(_("This prescription is not on one of your open runs."))
    return stop


@transaction.atomic
def record_shipped(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    stop = _open_stop(actor, prescription)
    expected = expected_ready(prescription)
    expected_at = expected["at"] if expected else timezone.now() + timedelta(hours=1)
    DeliveryStop.objects.filter(pk=stop.pk).update(status=StopStatus.SHIPPED, expected_at=expected_at)
    return prescription_transition(
        prescription=prescription,
        to=Stage.SHIPPED,
        actor=actor,
        data=station_event_data(
            actor, "delivery", {"courier": str(actor), "run": stop.run_id, "expected_at": expected_at.isoformat()}, data
        ),
    )


@transaction.atomic
def record_delivered(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    stop = _open_stop(actor, prescription)
    receiver = str(data.get("receiver_name", "")).strip()[:50]
    if not receiver:
        raise ValidationError({"receiver_name": [_("Who received it?")]})
    details = {"courier": str(actor), "run": stop.run_id, "receiver_name": receiver}
    if files.get("photo") is not None:
        try:
            photo = normalize_photo(files["photo"], name=f"{prescription.number}-delivered")
        except ValidationError as exc:
            raise ValidationError({"photo": exc.messages}) from None
        stop.photo.save(photo.name, photo, save=False)
        DeliveryStop.objects.filter(pk=stop.pk).update(photo=stop.photo.name)
        details["photo"] = True
    DeliveryStop.objects.filter(pk=stop.pk).update(status=StopStatus.DELIVERED, receiver_name=receiver)
    event = prescription_transition(
        prescription=prescription,
        to=Stage.DELIVERED,
        actor=actor,
        data=station_event_data(actor, "delivery", details, data),
    )
    if not stop.run.stops.exclude(status__in=[StopStatus.DELIVERED]).exclude(pk=stop.pk).exists():
        DeliveryRun.objects.filter(pk=stop.run_id).update(is_open=False, closed_at=timezone.now())
    return event


@transaction.atomic
def stop_failed(*, actor, prescription: Prescription, reason: str, retry_at=None) -> DeliveryStop:
    """Nobody home (or similar): recorded with a reason; the stop is rescheduled and the
    prescription stays `shipped`."""
    stop = _open_stop(actor, prescription)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why it could not be delivered.")]})
    retry_at = retry_at or timezone.now() + timedelta(hours=4)
    DeliveryStop.objects.filter(pk=stop.pk).update(
        status=StopStatus.FAILED, failure_reason=reason.strip()[:200], expected_at=retry_at
    )
    stop.refresh_from_db()
    return stop


@transaction.atomic
def record_picked_up(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    """At the clinic: the patient's 6-digit pickup code."""
    if not (has_capability(actor, "dispense") or has_capability(actor, "prescribe")):
        raise PermissionDenied(_("Your role cannot hand out medicine."))
    code = PickupCode.objects.filter(prescription=prescription).first()
    given = str(data.get("code", "")).strip()
    if code is None or not given or not secrets.compare_digest(given, code.code):
        raise ValidationError({"code": [_("The pickup code does not match.")]})
    return prescription_transition(
        prescription=prescription,
        to=Stage.PICKED_UP,
        actor=actor,
        data=station_event_data(actor, "pickup", {}, data),
    )


RECORDERS = {
    Stage.SHIPPED: record_shipped,
    Stage.DELIVERED: record_delivered,
    Stage.PICKED_UP: record_picked_up,
}
