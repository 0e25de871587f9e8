"""Start and stop a real Celery worker process for integration tests."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings

from core.db import connection_url

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def celery_worker(name: str = "test"):
    """A `celery worker` on this test run's queue, against the test database; stopped on exit."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    env = {
        **os.environ,
        "DATABASE_URL": connection_url(),
        "DJANGO_SETTINGS_MODULE": "tcm_platform.settings_test",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tcm_platform",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}-{queue}@%h",
            "-c",
            "1",
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so kill_hard reaches the pool children too
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_hard(process)


def kill_hard(process):
    """SIGKILL the worker and its pool children (its own process group), as an OOM kill would."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def wait_for(condition, *, process=None, timeout: float = 90, interval: float = 0.2):
    """Poll `condition` until it returns something truthy; fail if the worker dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited early:\n{process.stdout.read()}")
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"not done within {timeout} s")
