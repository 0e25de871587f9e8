"""All writes of the delivery app, by sub-domain: `runs` (runs, stops, the shipped, delivered and
picked-up steps, pickup codes), `tracking` (the patient's tracking data, the check of the mobile's
last 4 digits, rate limits) and `notifications` (the outbox pulled from the prescriptions' trace)."""

from .notifications import (
    NOTIFY_STAGES,
    enqueue_notification,
    forget_tracking_pages,
    notification_send,
    notifications_reconcile,
    trace_pull,
)
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
    rate_limited_read,
    track_cache_keys,
    tracking_data,
    tracking_verify,
)

__all__ = [
    "NOTIFY_STAGES",
    "RECORDERS",
    "TRACK_CACHE_SECONDS",
    "VERIFY_LIMIT",
    "VERIFY_WINDOW",
    "enqueue_notification",
    "forget_tracking_pages",
    "notification_send",
    "notifications_reconcile",
    "pickup_code_for",
    "rate_limited_read",
    "record_delivered",
    "record_picked_up",
    "record_shipped",
    "run_add_stops",
    "run_create",
    "stop_failed",
    "trace_pull",
    "track_cache_keys",
    "tracking_data",
    "tracking_verify",
]
