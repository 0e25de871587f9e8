"""Shared by the HTTP benchmarks: a production environment, gunicorn on a free port, and the
memory a server holds (bench/wrk.py drives the load)."""

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
