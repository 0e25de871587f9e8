"""Thin, idempotent tasks: each loads ids and calls one service."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from prescriptions.models import Prescription
from prescriptions.workflow import Stage

from .review.services import previous_month, review_draw
from .services import audit_run

logger = logging.getLogger(__name__)


@shared_task(name="audit.run_pre_audit", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_pre_audit(prescription_id: int):
    audit_run(prescription_id=prescription_id)


@shared_task(name="audit.sweep_unaudited", ignore_result=True)
def sweep_unaudited(older_than_seconds: int = 30):
    """Re-enqueue submitted prescriptions that no worker has audited (a lost message, a broker
    that was down at submit time). Safe to repeat: the audit itself is idempotent."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    waiting = Prescription.objects.filter(status=Stage.SUBMITTED, created_at__lt=cutoff, audit_run__isnull=True)
    for pk in waiting.values_list("pk", flat=True)[:500]:
        run_pre_audit.delay(pk)


@shared_task(name="audit.draw_review_sample", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draw_review_sample(month: str = ""):
    """Draw the post-hoc review sample of `month` ("2026-03"), by default the month before today.
    Beat runs it daily: a month already drawn draws nothing, so a day the worker was down on the
    first of the month is caught up the next day."""
    if month:
        first = datetime.strptime(month, "%Y-%m").date()
    else:
        first = previous_month(timezone.localdate())
    review_draw(month=first)
