"""The periodic jobs (Celery beat), one table. Each is a thin task over a service; the intervals
that a county may want to change are read from the environment."""

from celery.schedules import crontab

from .environment import env_positive_int

# How stale the dashboards' figures may be (each page shows when they were refreshed).
TCM_ROLLUP_REFRESH_SECONDS = env_positive_int("TCM_ROLLUP_REFRESH_SECONDS", 300)

CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "core.worker_heartbeat", "schedule": 60.0},
    "audit-sweep": {"task": "audit.sweep_unaudited", "schedule": 30.0},
    "thumbnail-sweep": {"task": "decoction.sweep_thumbnails", "schedule": 120.0},
    "delivery-trace-pull": {"task": "delivery.pull_trace", "schedule": 10.0},
    "notification-sweep": {"task": "delivery.sweep_notifications", "schedule": 300.0},
    "stuck-prescriptions": {"task": "prescriptions.flag_stuck", "schedule": 300.0},
    "herb-use": {"task": "prescriptions.count_herb_use", "schedule": 600.0},
    "trace-anchor": {"task": "prescriptions.anchor_trace", "schedule": crontab(hour=2, minute=30)},
    "daily-inspections": {"task": "decoction.pick_inspections", "schedule": crontab(hour=20, minute=0)},
    # 事后点评: last month's review sample, daily so a day the worker was down is caught up.
    "review-draw": {"task": "audit.draw_review_sample", "schedule": crontab(hour=1, minute=10)},
    "outreach-link-consults": {"task": "outreach.link_consults", "schedule": 300.0},
    "dashboard-rollups": {"task": "dashboards.refresh_rollups", "schedule": float(TCM_ROLLUP_REFRESH_SECONDS)},
}
