"""The patient's tracking data: the path of stages, the expected arrival, the masked or full view,
the check of the last 4 digits of the mobile, and the rate limits in front of it."""

import secrets
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import security_log
from core.cache import count_and_get, count_in_window
from prescriptions.models import Prescription
from prescriptions.workflow import DeliveryMode, Stage

from ..selectors import expected_ready, failed_attempt, path_of
from .runs import pickup_code_for

TRACK_CACHE_SECONDS = 300
VERIFY_LIMIT, VERIFY_WINDOW = 5, 15 * 60


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
    failed = failed_attempt(prescription)
    if failed is not None and failed.expected_at:
        # The courier rescheduled it: the new time is what the delivery records hold, not a median.
        expected = {"at": failed.expected_at, "earliest": None, "latest": None}
    data = {
        "number": prescription.display_number,
        "patient": prescription.patient.masked_name,
        "township": prescription.patient.township or prescription.institution.township,
        "institution": prescription.institution.name,
        "phone": prescription.institution.phone,
        "status": prescription.status,
        "status_label": str(Stage(prescription.status).label),
        "stopped": prescription.status in (Stage.REJECTED, Stage.CANCELLED),
        "attempt_failed": failed is not None,
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


def rate_limited_read(scope: str, key: str, *, limit: int, window: int, cached: str = "") -> tuple[bool, object]:
    """Count one hit: (True when more than `limit` hits fell in the current fixed `window` seconds,
    the cache value at `cached` (None when absent)) read in the same round trip: the tracking page
    serves most scans with one cache call."""
    bucket = f"rl:{scope}:{key}:{int(timezone.now().timestamp()) // window}"
    hits, value = count_and_get(bucket, window + 5, cached or None)
    return hits > limit, value


class TrackingTry(NamedTuple):
    verified: bool
    tries_left: int  # how many more tries this client has in the sliding window


def tracking_verify(*, prescription: Prescription, last4: str, client: str) -> bool:
    """True when `last4` are the last four digits of the patient's mobile (see tracking_try)."""
    return tracking_try(prescription=prescription, last4=last4, client=client).verified


def tracking_try(*, prescription: Prescription, last4: str, client: str) -> TrackingTry:
    """One try at the last four digits of the patient's mobile: whether they are right, and how
    many tries the client has left. A try after five from the same client
    (core.addresses.client_address) for the same token in the last 15 minutes, a sliding window,
    is refused right or wrong (PermissionDenied); refused tries count too. The first refusal is a
    lockout in the security log."""
    hits = count_in_window(
        f"rl:verify:{prescription.tracking_token}:{client}", window=VERIFY_WINDOW, now=timezone.now().timestamp()
    )
    if hits > VERIFY_LIMIT:
        if hits == VERIFY_LIMIT + 1:
            security_log.tracking_locked(prescription=prescription.display_number, address=client)
        raise PermissionDenied(_("Too many tries. Please wait 15 minutes or call the clinic."))
    verified = bool(last4) and len(last4) == 4 and secrets.compare_digest(last4, prescription.patient.mobile[-4:])
    return TrackingTry(verified=verified, tries_left=VERIFY_LIMIT - hits)
