"""Start and stop real Celery worker and beat processes for integration tests."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings

from core.db import connection_url

ROOT = Path(__file__).resolve().parent.parent


def _start(args: list[str], env: dict | None) -> subprocess.Popen:
    """A celery process against the test database, its output in a file (a pipe nobody reads
    would block a chatty process), in its own process group so kill_hard reaches its children."""
    log = tempfile.NamedTemporaryFile("w+", prefix="celery-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tcm_platform", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": connection_url(),
            "DJANGO_SETTINGS_MODULE": "tcm_platform.settings_test",
            **(env or {}),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.log_path = log.name
    log.close()
    return process


def output(process) -> str:
    return Path(process.log_path).read_text(errors="replace")


def _stop(process) -> None:
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_hard(process)
    finally:
        with suppress(OSError):
            os.unlink(process.log_path)


@contextmanager
def celery_worker(name: str = "test", *, env: dict | None = None, beat_schedule: Path | None = None):
    """A `celery worker` (one pool process) on this test run's queue, against the test database;
    with `beat_schedule`, beat runs inside it. Stopped on exit."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    args = ["worker", "-Q", queue, "-n", f"{name}-{queue}@%h", "-c", "1", "-l", "warning"]
    args += ["--without-gossip", "--without-mingle"]
    if beat_schedule is not None:
        args += ["-B", "-s", str(beat_schedule)]
    process = _start(args, env)
    try:
        yield process
    finally:
        _stop(process)


@contextmanager
def celery_beat(schedule: Path, *, env: dict | None = None):
    """A `celery beat` process (no worker); stopped on exit."""
    process = _start(["beat", "-s", str(schedule), "-l", "warning"], env)
    try:
        yield process
    finally:
        _stop(process)


def wait_ready(process, timeout: float = 30) -> None:
    """Wait until the worker has taken a task from the queue and run it: a heartbeat round trip."""
    from core.models import WorkerHeartbeat
    from core.tasks import worker_heartbeat

    token = f"ready-{uuid.uuid4().hex}"
    worker_heartbeat.delay(token)
    wait_for(lambda: WorkerHeartbeat.objects.filter(token=token).exists(), process=process, timeout=timeout)


def kill_hard(process):
    """SIGKILL the worker and its pool children (its own process group), as an OOM kill would."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def wait_for(condition, *, process=None, timeout: float = 90, interval: float = 0.2):
    """Poll `condition` until it returns something truthy; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the celery process exited early:\n{output(process)}")
        result = condition()
        if result:
            return result
        time.sleep(interval)
    detail = f"\n{output(process)[-4000:]}" if process is not None else ""
    raise AssertionError(f"not done within {timeout} s{detail}")
