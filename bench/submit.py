"""POST /api/v1/prescriptions/ under gunicorn: throughput and latency, printed as a ratio to a
one-row insert endpoint (same middleware, token authentication and DRF) measured in the same run.
Target: submit throughput ≥ 0.4 of the floor's.

    python bench/submit.py                     # SQLite + filesystem broker in a temporary folder
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… python bench/submit.py
"""

import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TCM_VAR_DIR", tempfile.mkdtemp(prefix="tcm-bench-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "TCM_CELERY_QUEUE": f"bench-{secrets.token_hex(4)}",
    }
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from accounts.models import Institution, InstitutionKind, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import user_set_roles  # noqa: E402
from catalogue.importer import import_catalogue  # noqa: E402
from catalogue.models import Herb  # noqa: E402
from prescriptions.models import Patient  # noqa: E402
from tcm_platform.celery import app  # noqa: E402

CLIENTS = 8
SECONDS = 8
HERBS = ["黄芪", "党参", "白术", "茯苓", "炙甘草", "当归", "川芎", "白芍", "熟地黄", "陈皮", "法半夏", "柴胡"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup():
    call_command("migrate", verbosity=0)
    if not Herb.objects.exists():
        import_catalogue()
    lead, _ = Institution.objects.get_or_create(
        code="B001", defaults={"name": "bench", "kind": InstitutionKind.LEAD_HOSPITAL}
    )
    clinician, created = User.objects.get_or_create(username="bench-clinician", defaults={"institution": lead})
    if created:
        user_set_roles(user=clinician, roles=[Role.CLINICIAN])
    patient, _ = Patient.objects.get_or_create(
        name="测试", institution=lead, defaults={"sex": "F", "date_of_birth": "1980-01-01", "mobile": "13900000000"}
    )
    token, _ = Token.objects.get_or_create(user=clinician)
    return token.key, patient.pk


def load(port, path, body, token):
    """CLIENTS keep-alive connections posting for SECONDS; returns (requests per second, latencies)."""
    latencies, failures, stop = [], [], time.perf_counter() + SECONDS
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            start = time.perf_counter()
            conn.request("POST", path, payload, headers)
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                failures.append(response.status)
            latencies.append(time.perf_counter() - start)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{path}: {len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return len(latencies) / (time.perf_counter() - started), latencies


def p95(values):
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def main():
    token, patient = setup()
    port = free_port()
    env = {**os.environ}
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tcm_platform.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        prescription = {
            "patient": patient,
            "consult": {"tcm_disease": "虚劳"},
            "doses": 7,
            "delivery": "pickup",
            "usage": "每日1剂，水煎分2次温服",
            "items": [{"herb": h, "grams": 9} for h in HERBS],
        }
        load(port, "/bench/insert-one/", {}, token)  # warm up both endpoints
        load(port, "/api/v1/prescriptions/", prescription, token)
        floor_rate, floor_lat = load(port, "/bench/insert-one/", {}, token)
        submit_rate, submit_lat = load(port, "/api/v1/prescriptions/", prescription, token)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        app.control.purge()  # no worker runs here: drop this run's audit messages from its own queue
    print(f"POST under gunicorn (2 workers, {CLIENTS} keep-alive clients, {SECONDS} s each, {connection.vendor})")
    print(
        f"  floor: one-row insert           {floor_rate:7.1f} req/s  p50 {statistics.median(floor_lat) * 1000:6.1f} ms"
        f"  p95 {p95(floor_lat) * 1000:6.1f} ms"
    )
    ratio = submit_rate / floor_rate
    verdict = "met" if ratio >= 0.4 else "NOT met"
    print(
        f"  POST /api/v1/prescriptions/     {submit_rate:7.1f} req/s"
        f"  p50 {statistics.median(submit_lat) * 1000:6.1f} ms"
        f"  p95 {p95(submit_lat) * 1000:6.1f} ms  = {ratio:.2f} of the floor (target ≥ 0.4: {verdict})"
    )


if __name__ == "__main__":
    main()
