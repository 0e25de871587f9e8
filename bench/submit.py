"""POST /api/v1/prescriptions/ under gunicorn: throughput and latency, printed as a ratio to a
one-row insert endpoint (same middleware, token authentication and DRF) measured in the same run.
Target: submit throughput ≥ 0.4 of the floor's.

    python bench/submit.py                     # SQLite + filesystem broker in a temporary folder
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… python bench/submit.py
"""

import json
import secrets
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.load import gunicorn, load, percentile, production_environment  # noqa: E402

production_environment(TCM_CELERY_QUEUE=f"bench-{secrets.token_hex(4)}")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Institution, InstitutionKind, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import api_token_issue, user_set_roles  # noqa: E402
from catalogue.importer import import_catalogue  # noqa: E402
from catalogue.models import Herb  # noqa: E402
from core.db import connection_url  # noqa: E402
from patients.models import Patient  # noqa: E402
from tcm_platform.celery import app  # noqa: E402

CLIENTS = 8
SECONDS = 8
HERBS = ["黄芪", "党参", "白术", "茯苓", "炙甘草", "当归", "川芎", "白芍", "熟地黄", "陈皮", "法半夏", "柴胡"]


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
    _, token = api_token_issue(user=clinician, name="bench")
    return token, patient.pk


def submit_body(patient: int) -> dict:
    """The submit this benchmark sends: 12 herbs for a registered patient."""
    return {
        "patient": patient,
        "consult": {"tcm_disease": "虚劳"},
        "doses": 7,
        "delivery": "pickup",
        "usage": "每日1剂，水煎分2次温服",
        "items": [{"herb": h, "grams": 9} for h in HERBS],
    }


def main():
    token, patient = setup()
    env = {"DATABASE_URL": connection_url()}
    prescription = submit_body(patient)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def post(path, body, seconds=SECONDS):
        payload = json.dumps(body, ensure_ascii=False).encode()
        return load(port, "POST", path, clients=CLIENTS, seconds=seconds, body=payload, headers=headers, expect=201)

    try:
        with gunicorn(env, "-w", "2") as port:
            post("/bench/insert-one/", {})  # warm up both endpoints
            post("/api/v1/prescriptions/", prescription)
            floor_rate, floor_lat = post("/bench/insert-one/", {})
            submit_rate, submit_lat = post("/api/v1/prescriptions/", prescription)
    finally:
        app.control.purge()  # no worker runs here: drop this run's audit messages from its own queue
    print(f"POST under gunicorn (2 workers, {CLIENTS} keep-alive clients, {SECONDS} s each, {connection.vendor})")
    print(
        f"  floor: one-row insert           {floor_rate:7.1f} req/s  p50 {statistics.median(floor_lat) * 1000:6.1f} ms"
        f"  p95 {percentile(floor_lat, 0.95) * 1000:6.1f} ms"
    )
    ratio = submit_rate / floor_rate
    verdict = "met" if ratio >= 0.4 else "NOT met"
    print(
        f"  POST /api/v1/prescriptions/     {submit_rate:7.1f} req/s"
        f"  p50 {statistics.median(submit_lat) * 1000:6.1f} ms"
        f"  p95 {percentile(submit_lat, 0.95) * 1000:6.1f} ms  = {ratio:.2f} of the floor (target ≥ 0.4: {verdict})"
    )


if __name__ == "__main__":
    main()
