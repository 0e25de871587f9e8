"""Delivery runs and their stops, the shipped, delivered and picked-up steps (each through
prescriptions' prescription_transition), a stop that failed, and the pickup code."""

import secrets
from datetime import timedelta
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import update_sql
from core.images import normalize_photo
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import prescription_transition, station_event_data
from prescriptions.workflow import DeliveryMode, Stage

from ..models import DeliveryRun, DeliveryStop, PickupCode, StopStatus
from ..permissions import ensure_can_hand_over, ensure_courier
from ..selectors import expected_ready
from .hours import retry_time
from .pages import forget_tracking_pages, track_cache_keys


def pickup_code_for(prescription: Prescription) -> PickupCode:
    code, _created = PickupCode.objects.get_or_create(
        prescription=prescription, defaults={"code": f"{secrets.randbelow(10**6):06d}"}
    )
    return code


def _ensure_deliverable(prescriptions: list) -> None:
    """Raise ValidationError unless every prescription is packaged for delivery to an address and
    on no open run."""
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


@transaction.atomic
def run_create(*, courier, prescriptions, area: str) -> DeliveryRun:
    """Group packaged prescriptions (delivered to an address, not on another run) into a run."""
    ensure_courier(courier)
    prescriptions = list(prescriptions)
    if not prescriptions:
        raise ValidationError({"prescriptions": [_("Choose at least one prescription.")]})
    _ensure_deliverable(prescriptions)
    run = DeliveryRun.objects.create(station=courier.institution, courier=courier, area=area.strip()[:50] or "—")
    DeliveryStop.objects.bulk_create(
        DeliveryStop(run=run, prescription=p, position=n) for n, p in enumerate(prescriptions, start=1)
    )
    return run


@transaction.atomic
def run_add_stops(*, courier, run: DeliveryRun, prescriptions) -> list[DeliveryStop]:
    """Add packaged prescriptions (as for run_create) to the end of the courier's own open run.
    Raises PermissionDenied for another courier's run or a closed one, ValidationError as
    run_create does."""
    ensure_courier(courier)
    run = DeliveryRun.objects.select_for_update().filter(pk=run.pk).first()
    if run is None or run.courier_id != courier.pk or not run.is_open:
        raise PermissionDenied(_("This is not one of your open runs."))
    prescriptions = list(prescriptions)
    if not prescriptions:
        raise ValidationError({"prescriptions": [_("Choose at least one prescription.")]})
    _ensure_deliverable(prescriptions)
    last = run.stops.order_by("-position").values_list("position", flat=True).first() or 0
    return DeliveryStop.objects.bulk_create(
        DeliveryStop(run=run, prescription=p, position=n) for n, p in enumerate(prescriptions, start=last + 1)
    )


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
    return prescription_transition(
        prescription=prescription,
        to=Stage.SHIPPED,
        actor=actor,
        data=station_event_data(
            actor, "delivery", {"courier": str(actor), "run": stop.run_id, "expected_at": expected_at.isoformat()}, data
        ),
        also=[update_sql(DeliveryStop, {"pk": stop.pk}, {"status": StopStatus.SHIPPED, "expected_at": expected_at})],
    )


@transaction.atomic
def record_delivered(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    stop = _open_stop(actor, prescription)
    receiver = str(data.get("receiver_name", "")).strip()[:50]
    if not receiver:
        raise ValidationError({"receiver_name": [_("Who received it?")]})
    details = {"courier": str(actor), "run": stop.run_id, "receiver_name": receiver}
    delivered = {"status": StopStatus.DELIVERED, "receiver_name": receiver}
    if files.get("photo") is not None:
        try:
            photo = normalize_photo(files["photo"], name=f"{prescription.number}-delivered")
        except ValidationError as exc:
            raise ValidationError({"photo": exc.messages}) from None
        stop.photo.save(photo.name, photo, save=False)
        delivered["photo"] = stop.photo.name
        details["photo"] = True
    event = prescription_transition(
        prescription=prescription,
        to=Stage.DELIVERED,
        actor=actor,
        data=station_event_data(actor, "delivery", details, data),
        also=[update_sql(DeliveryStop, {"pk": stop.pk}, delivered)],
    )
    # The run closes with its last delivery: one conditional UPDATE.
    others_open = DeliveryStop.objects.filter(run_id=OuterRef("pk")).exclude(status=StopStatus.DELIVERED)
    DeliveryRun.objects.filter(pk=stop.run_id).exclude(Exists(others_open.exclude(pk=stop.pk))).update(
        is_open=False, closed_at=timezone.now()
    )
    return event


@transaction.atomic
def stop_failed(*, actor, prescription: Prescription, reason: str, retry_at=None) -> DeliveryStop:
    """Nobody home (or similar): recorded with a reason; the stop is rescheduled inside the
    delivery station's working hours (hours.retry_time) and the prescription stays `shipped`. The
    patient's cached tracking page is dropped after commit, so it shows the new expected time (no
    trace event is written, so the trace pull does not drop it)."""
    stop = _open_stop(actor, prescription)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why it could not be delivered.")]})
    retry_at = retry_time(stop.run.station_id, failed_at=timezone.now(), requested=retry_at)
    DeliveryStop.objects.filter(pk=stop.pk).update(
        status=StopStatus.FAILED, failure_reason=reason.strip()[:200], expected_at=retry_at
    )
    stop.refresh_from_db()
    if prescription.tracking_token:
        transaction.on_commit(partial(forget_tracking_pages, track_cache_keys(prescription.tracking_token)))
    return stop


@transaction.atomic
def record_picked_up(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    """At the clinic: the patient's 6-digit pickup code."""
    ensure_can_hand_over(actor)
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


# This app's station steps, for its own pages (the events API reads pipeline.steps.STEPS).
RECORDERS = {
    Stage.SHIPPED: record_shipped,
    Stage.DELIVERED: record_delivered,
    Stage.PICKED_UP: record_picked_up,
}
