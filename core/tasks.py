from celery import shared_task

from .services import worker_heartbeat_record


@shared_task(name="core.worker_heartbeat", bind=True, ignore_result=True)
def worker_heartbeat(self, token: str = ""):
    """Idempotent: a second run only moves the timestamp."""
    worker_heartbeat_record(worker=self.request.hostname or "unknown", token=token)
