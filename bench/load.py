"""Shared by the HTTP benchmarks: a production environment, a fresh database, gunicorn on a free
port, a Celery worker and beat, and the memory a process tree holds (bench/wrk.py and
bench/client.py drive the load)."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_environment(**extra: str) -> None:
    """The environment of a production server (DEBUG off) with the benchmark's floor endpoints
    (bench.settings), in a temporary folder. Call before django.setup(); gunicorn() inherits it."""
    os.environ.setdefault("TCM_VAR_DIR", tempfile.mkdtemp(prefix="tcm-bench-"))
    Path(os.environ["TCM_VAR_DIR"], "static").mkdir(parents=True, exist_ok=True)  # whitenoise's folder
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "TCM_TRACE_KEYS": f"b1:{secrets.token_hex(32)}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": "http://127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            **extra,
        }
    )


def load_environment(database: str, queue: str) -> dict:
    """production_environment for the load benchmarks (mixed.py, soak.py) on PostgreSQL and Redis:
    DATABASE_URL (default: `database` on the local server), REDIS_URL (default db 6) for the cache,
    CELERY_BROKER_URL (default: REDIS_URL) with the run's own `queue`, and the tracking and API
    rate limits lifted (every simulated user is 127.0.0.1). Call before django.setup()."""
    default = f"postgres://postgres@127.0.0.1:5432/{database}"
    url = os.environ.get("DATABASE_URL", default)
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6")
    production_environment(
        DATABASE_URL=url,
        REDIS_URL=redis,
        CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", redis),
        TCM_CELERY_QUEUE=queue,
        TRACK_RATE_PER_MINUTE="1000000000",
    )
    return {"url": url, "default": default, "redis": redis, "queue": queue}


def fresh_database(url: str) -> None:
    """Drop (with its connections) and create the PostgreSQL database `url` names."""
    import psycopg2

    base, _sep, name = url.rpartition("/")
    conn = psycopg2.connect(f"{base}/postgres")
    conn.autocommit = True
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict, *args: str, app: str = "tcm_platform.wsgi"):
    """A gunicorn serving `app` on a free port; yields (port, pid)."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@contextmanager
def celery(env: dict, *, queue: str, log: Path | None = None, beat: Path | None = None, concurrency: int = 2):
    """A Celery worker (prefork, `concurrency` children) taking `queue`, and with `beat` (its
    schedule file) the one beat, as child processes writing to `log`; yields {"worker": pid,
    "beat": pid or None}. Stopped with SIGTERM: the worker finishes the tasks it holds."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    command = [sys.executable, "-m", "celery", "-A", "tcm_platform"]
    quiet = ["-l", "warning"]
    children = [
        subprocess.Popen(
            [*command, "worker", "-Q", queue, "-c", str(concurrency), *quiet, "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT if log else None,
        )
    ]
    if beat:
        children.append(
            subprocess.Popen(
                [*command, "beat", "-s", str(beat), *quiet],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT if log else None,
            )
        )
    try:
        yield {"worker": children[0].pid, "beat": children[1].pid if beat else None}
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=60)
        if log:
            out.close()


@contextmanager
def servers(setting: dict):
    """For the load benchmarks (`setting` from load_environment): the platform's gunicorn and the
    bare stack's, 4 sync workers each, logging only errors (every 5xx, not each 4xx), and a Celery
    worker on the run's queue with the one beat, logging to worker.log in TCM_VAR_DIR. Yields the
    ports, the pids (web, bare, worker, beat) and the log's path."""
    env = {"DATABASE_URL": setting["url"], "REDIS_URL": setting["redis"], "LOG_LEVEL": "ERROR"}
    var = Path(os.environ["TCM_VAR_DIR"])
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
    with (
        gunicorn(env, "-w", "4") as (port, web),
        gunicorn(bare_env, "-w", "4", app="bench.bare.wsgi") as (bare_port, bare),
        celery(env, queue=setting["queue"], log=var / "worker.log", beat=var / "celerybeat-schedule") as pids,
    ):
        yield {"port": port, "bare_port": bare_port, "web": web, "bare": bare, **pids, "log": var / "worker.log"}


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (a gunicorn master and its workers), MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        todo += [int(child) for child in children]
    return total / 1024
