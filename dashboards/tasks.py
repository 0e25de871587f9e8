"""Thin, idempotent tasks over the dashboards' rollups."""

from celery import shared_task

from .rollups import refresh


@shared_task(name="dashboards.refresh_rollups", ignore_result=True, soft_time_limit=600, time_limit=660)
def refresh_rollups():
    """Fold what moved since the last refresh into the rollups (a second run finds nothing new)."""
    refresh()
