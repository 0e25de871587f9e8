from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import Notification
from .notify import backend
from .services import notification_send, notifications_reconcile, trace_pull


@shared_task(
    name="delivery.pull_trace",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def pull_trace():
    """Handle the trace events delivery has not handled yet (notifications, cached tracking pages).
    Run by the beat; after each move commits, pipeline.trace_advanced calls the same service. A
    pull takes everything not yet handled, so a second run finds nothing to do."""
    return trace_pull()


@shared_task(
    name="delivery.send_notification",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
    ignore_result=True,
)
def send_notification(self, notification_id: int):
    """Sent once (the service skips a sent row); a gateway error retries with growing waits."""
    try:
        notification_send(notification_id=notification_id, backend=backend())
    except Exception as exc:  # noqa: BLE001 - any gateway error is retried
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc


@shared_task(name="delivery.sweep_notifications", ignore_result=True)
def sweep_notifications():
    """An announced stage the trace pull stepped over gets its notification (enqueued after
    commit); pending notifications older than 5 minutes (a lost message) are enqueued again."""
    notifications_reconcile()
    cutoff = timezone.now() - timedelta(minutes=5)
    for pk in Notification.objects.filter(status="pending", created_at__lt=cutoff).values_list("pk", flat=True)[:200]:
        send_notification.delay(pk)
