import logging

from celery import current_app, shared_task

from .services import worker_heartbeat_record

logger = logging.getLogger(__name__)


@shared_task(name="core.worker_heartbeat", bind=True, ignore_result=True)
def worker_heartbeat(self, token: str = ""):
    """Idempotent: a second run only moves the timestamp."""
    worker_heartbeat_record(worker=self.request.hostname or "unknown", token=token)


def enqueue(name: str, *args) -> None:
    """Send the task called `name` (call it after commit). Apps below the one that defines a task
    send it by name; a broker outage must not fail a step that has committed: the periodic sweeps
    find the work again from the database."""
    try:
        current_app.send_task(name, args=args)
    except Exception:  # noqa: BLE001 - any broker error
        logger.warning("could not enqueue %s%r; the sweeps will", name, args, exc_info=True)
