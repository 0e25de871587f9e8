"""All writes of the delivery app, by sub-domain: `runs` (runs, stops, the shipped, delivered and
picked-up steps, pickup codes), `tracking` (the patient's tracking data, the check of the mobile's
last 4 digits, rate limits), `pages` (the cached tracking pages: their keys, dropping them) and
`notifications` (the outbox pulled from the prescriptions' trace)."""

from .hours import hours_of, retry_time, within_hours
from .notifications import (
    NOTIFY_STAGES,
    enqueue_notification,
    notification_send,
    notifications_reconcile,
    trace_pull,
)
from .pages import forget_tracking_pages, track_cache_key, track_cache_keys
from .runs import (
    RECORDERS,
    pickup_code_for,
    record_delivered,
    record_picked_up,
    record_shipped,
    run_add_stops,
    run_create,
    stop_failed,
)
from .tracking import (
    TRACK_CACHE_SECONDS,
    VERIFY_LIMIT,
    VERIFY_WINDOW,
    TrackingTry,
    rate_limited_read,
    tracking_data,
    tracking_try,
    tracking_verify,
)

__all__ = [
    "NOTIFY_STAGES",
    "RECORDERS",
    "TRACK_CACHE_SECONDS",
    "TrackingTry",
    "VERIFY_LIMIT",
    "VERIFY_WINDOW",
    "enqueue_notification",
    "forget_tracking_pages",
    "hours_of",
    "notification_send",
    "notifications_reconcile",
    "pickup_code_for",
    "rate_limited_read",
    "record_delivered",
    "record_picked_up",
    "record_shipped",
    "retry_time",
    "run_add_stops",
    "run_create",
    "stop_failed",
    "trace_pull",
    "track_cache_key",
    "track_cache_keys",
    "tracking_data",
    "tracking_try",
    "tracking_verify",
    "within_hours",
]
