from django.utils import timezone

from .models import WorkerHeartbeat


def worker_heartbeat_record(*, worker: str, token: str = "") -> WorkerHeartbeat:
    """Record that `worker` ran a task just now (one row per worker, updated in place)."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        worker=worker[:200], defaults={"seen_at": timezone.now(), "token": token[:64]}
    )
    return heartbeat
