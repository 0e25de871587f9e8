"""A real Celery worker process, on the configured broker (filesystem by default, Redis in CI),
takes a task enqueued by this process and writes to the same database."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tcm_platform.models import WorkerHeartbeat
from tcm_platform.tasks import worker_heartbeat

ROOT = Path(__file__).resolve().parent.parent


def database_url_for_worker() -> str:
    """The test database, as a DATABASE_URL the worker process can use."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue():
    """Start `celery worker` on a queue of its own; stop it afterwards."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_worker(),
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
            f"{queue}@%h",
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
    )
    yield queue, process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_runs_an_enqueued_task_and_writes_to_the_database(worker_queue):
    queue, process = worker_queue
    token = uuid.uuid4().hex
    worker_heartbeat.apply_async(args=[token], queue=queue)

    deadline = time.monotonic() + 90
    heartbeat = None
    while time.monotonic() < deadline and heartbeat is None:
        assert process.poll() is None, f"worker exited early:\n{process.stdout.read()}"
        heartbeat = WorkerHeartbeat.objects.filter(token=token).first()
        time.sleep(0.25)

    assert heartbeat is not None, "the worker did not run the task within 90 s"
    assert heartbeat.worker.startswith(queue + "@"), "the task must have run in the worker process"
