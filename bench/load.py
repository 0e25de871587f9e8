"""Shared by the HTTP benchmarks: a production environment, gunicorn on a free port, and
keep-alive clients (or wrk) driving it for a fixed time."""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_environment(**extra: str) -> None:
    """The environment of a production server (DEBUG off) with the benchmark's floor endpoints
    (bench.settings), in a temporary folder. Call before django.setup(); gunicorn() inherits it."""
    os.environ.setdefault("TCM_VAR_DIR", tempfile.mkdtemp(prefix="tcm-bench-"))
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
def gunicorn(env: dict, *args: str):
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tcm_platform.wsgi",
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
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def load(
    port: int,
    method: str,
    path: str,
    *,
    clients: int,
    seconds: float,
    body: bytes = b"",
    headers: dict | None = None,
    expect: int = 200,
):
    """`clients` threads sending requests for `seconds`; returns (requests per second, latencies)."""
    latencies, failures, stop = [], [], time.perf_counter() + seconds
    headers = headers or {}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                conn.request(method, path, body or None, headers)
                response = conn.getresponse()
                response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if response.status != expect:
                failures.append(response.status)
            latencies.append(time.perf_counter() - start)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{method} {path}: {len(failures)} responses were not {expect}, e.g. HTTP {failures[0]}")
    return len(latencies) / (time.perf_counter() - started), latencies


def percentile(values, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def wrk_load(port: int, path: str, *, clients: int, seconds: int):
    """GET with wrk (a C load generator: Debian's `wrk`), which leaves the CPU to the server.
    Returns (requests per second, p50 seconds, p99 seconds, non-2xx count)."""
    import re
    import shutil

    if not shutil.which("wrk"):
        return None
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def seconds_of(value: str) -> float:
        match = re.match(r"([\d.]+)(us|ms|s|m)", value)
        if match is None:
            raise SystemExit(f"cannot read wrk latency {value!r}:\n{out}")
        number, unit = match.groups()
        return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = seconds_of(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = seconds_of(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(errors.group(1)) if errors else 0
