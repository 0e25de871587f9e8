"""Audit benchmarks, each figure beside a floor measured in the same run:

1. Engine throughput on a 15-herb prescription in one process (target ≥ 5,000 prescriptions/s);
   floor: resolving the same 15 names in the rule snapshot, the least work any audit does.
2. Submit → `ai_audited` latency with a real worker at 10 submits/s (target p95 < 1 s);
   floor: the round trip of an empty task (enqueue → worker writes a row) on the same broker.

    python bench/audit.py              # SQLite + filesystem broker in a temporary folder
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… python bench/audit.py
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TCM_VAR_DIR", tempfile.mkdtemp(prefix="tcm-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tcm_platform.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("TCM_CELERY_QUEUE", f"bench-{uuid.uuid4().hex[:8]}")

import django  # noqa: E402

from bench.load import celery  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Institution, InstitutionKind, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import user_set_roles  # noqa: E402
from catalogue.importer import import_catalogue  # noqa: E402
from catalogue.models import Herb  # noqa: E402
from core.db import connection_url  # noqa: E402
from core.models import WorkerHeartbeat  # noqa: E402
from core.tasks import worker_heartbeat  # noqa: E402
from patients.models import Patient  # noqa: E402
from prescriptions.models import Prescription, TraceEvent  # noqa: E402
from rules import engine  # noqa: E402
from rules.drafts import parse_draft  # noqa: E402
from rules.services import live_snapshot  # noqa: E402

FIFTEEN = [
    "黄芪",
    "党参",
    "白术",
    "茯苓",
    "炙甘草",
    "当归",
    "川芎",
    "白芍",
    "熟地黄",
    "陈皮",
    "法半夏",
    "柴胡",
    "升麻",
    "大枣",
    "生姜",
]


def engine_throughput(seconds: float = 2.0):
    rules = live_snapshot()
    draft, patient = parse_draft(
        {
            "patient": {"sex": "F", "age_years": 46, "pregnant": False, "allergies": ["白芍"]},
            "doses": 7,
            "items": [{"herb": name, "grams": 9} for name in FIFTEEN],
        }
    )

    def rate(function):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(200):
                function()
            count += 200
        return count / (time.perf_counter() - start)

    audit_rate = max(rate(lambda: engine.audit(draft, patient, rules)) for _ in range(3))
    floor_rate = max(rate(lambda: [rules.resolve(item.herb) for item in draft.items]) for _ in range(3))
    return audit_rate, floor_rate


def setup_county():
    lead, _ = Institution.objects.get_or_create(
        code="B001", defaults={"name": "bench", "kind": InstitutionKind.LEAD_HOSPITAL}
    )
    clinician, created = User.objects.get_or_create(username="bench-clinician", defaults={"institution": lead})
    if created:
        user_set_roles(user=clinician, roles=[Role.CLINICIAN])
    pharmacist, created = User.objects.get_or_create(username="bench-pharmacist", defaults={"institution": lead})
    if created:
        user_set_roles(user=pharmacist, roles=[Role.PHARMACIST])
    patient, _ = Patient.objects.get_or_create(
        name="测试", institution=lead, defaults={"sex": "F", "date_of_birth": "1980-01-01", "mobile": "13900000000"}
    )
    return clinician, patient


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def pipeline_latency(submits: int = 100, rate_per_s: float = 10.0):
    clinician, patient = setup_county()
    client = Client()
    client.force_login(clinician)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with celery({"DATABASE_URL": connection_url()}, queue=queue):
        # Floor: an empty task's round trip on the same broker and worker.
        floor = []
        for _ in range(30):
            token = uuid.uuid4().hex
            start = time.perf_counter()
            worker_heartbeat.delay(token)
            while not WorkerHeartbeat.objects.filter(token=token).exists():
                time.sleep(0.005)
            floor.append(time.perf_counter() - start)
        body = {
            "patient": patient.pk,
            "consult": {"tcm_disease": "虚劳"},
            "doses": 7,
            "usage": "每日1剂，水煎分2次温服",
            "delivery": "pickup",
            "items": [{"herb": name, "grams": 9} for name in FIFTEEN[:12]],
        }
        ids, started = [], time.perf_counter()
        for n in range(submits):
            due = started + n / rate_per_s
            time.sleep(max(0.0, due - time.perf_counter()))
            response = client.post("/api/v1/prescriptions/", body, content_type="application/json")
            assert response.status_code == 201, response.content
            ids.append(response.json()["id"])
        deadline = time.perf_counter() + 120
        while Prescription.objects.filter(pk__in=ids, status="submitted").exists():
            if time.perf_counter() > deadline:
                raise SystemExit("the worker did not audit every prescription within 120 s")
            time.sleep(0.05)
        latencies = []
        submitted = dict(
            TraceEvent.objects.filter(prescription_id__in=ids, stage="submitted").values_list("prescription_id", "at")
        )
        for pk, at in TraceEvent.objects.filter(prescription_id__in=ids, stage="ai_audited").values_list(
            "prescription_id", "at"
        ):
            latencies.append((at - submitted[pk]).total_seconds())
        return latencies, floor


def main():
    call_command("migrate", verbosity=0)
    if not Herb.objects.exists():
        import_catalogue()
    audit_rate, floor_rate = engine_throughput()
    print(f"engine throughput, 15-herb prescription, one process ({connection.vendor} rules snapshot)")
    print(f"  floor: resolve the 15 names only         {floor_rate:10,.0f} /s")
    print(
        f"  engine.audit                             {audit_rate:10,.0f} /s"
        f"  = {floor_rate / audit_rate:.0f} x the floor's time per prescription"
        f"  (target ≥ 5,000/s: {'met' if audit_rate >= 5000 else 'NOT met'})"
    )
    latencies, floor = pipeline_latency()
    broker = settings.CELERY_BROKER_URL.split("://")[0]
    print(f"submit → ai_audited with a real worker, 100 submits at 10/s ({connection.vendor}, {broker} broker)")
    floor_p50, floor_p95 = statistics.median(floor), percentile(floor, 0.95)
    print(f"  floor: empty task round trip      p50 {floor_p50 * 1000:7.1f} ms  p95 {floor_p95 * 1000:7.1f} ms")
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(
        f"  submit → ai_audited               p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
        f"  = {p95 / floor_p95:.1f} x floor p95  (target p95 < 1 s: {'met' if p95 < 1 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
