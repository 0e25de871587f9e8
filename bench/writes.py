"""One submit (12 herbs, `POST /api/v1/prescriptions/` with token authentication) or, with
`--events`, one station event (`POST /api/v1/prescriptions/{id}/events/`, soaking) in process,
without a server: the SQL statements it sends, and its median time over a run, each request
beside a one-row insert (bench/urls.py) through the same stack. `--profile` prints
where the CPU time of the measured requests goes (cProfile).

    python bench/writes.py [--submits 200] [--same-patient | --events] [--profile]
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… python bench/writes.py

`--same-patient` writes every submit for one patient, so each one checks all the earlier ones
(the cross-prescription rules); by default each submit has a patient of its own.
"""

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.load import production_environment  # noqa: E402

production_environment(TCM_CELERY_QUEUE=f"bench-{secrets.token_hex(4)}")
os.makedirs(Path(os.environ["TCM_VAR_DIR"]) / "static", exist_ok=True)  # whitenoise warns without it

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Institution, InstitutionKind, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import api_token_issue, user_set_roles  # noqa: E402
from catalogue.importer import import_catalogue  # noqa: E402
from catalogue.models import Herb  # noqa: E402
from patients.models import Patient  # noqa: E402
from prescriptions.models import Prescription  # noqa: E402
from prescriptions.services import prescription_submit  # noqa: E402
from prescriptions.services.drafting import PrescriptionForm  # noqa: E402
from prescriptions.services.trace import record_event  # noqa: E402
from prescriptions.workflow import Stage  # noqa: E402
from tcm_platform.celery import app  # noqa: E402

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


def post(client, path, body, headers) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one POST."""
    payload = json.dumps(body, ensure_ascii=False)
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.post(path, payload, content_type="application/json", headers=headers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if response.status_code != 201:
        raise SystemExit(f"POST {path}: HTTP {response.status_code} {response.content[:300]!r}")
    return wall, cpu


def station_setup(count: int) -> tuple[str, list[str]]:
    """A decoction operator's token and `count` prescriptions waiting at soaking (submitted through
    the service, then put at `rechecked` with an event for each stage skipped)."""
    clinician = User.objects.get(username="bench-clinician")
    lead = clinician.institution
    pharmacy, _ = Institution.objects.get_or_create(
        code="B002", defaults={"name": "bench pharmacy", "kind": InstitutionKind.SHARED_PHARMACY, "parent": lead}
    )
    decoctor, created = User.objects.get_or_create(username="bench-decoctor", defaults={"institution": pharmacy})
    if created:
        user_set_roles(user=decoctor, roles=[Role.DECOCTION_OPERATOR])
    _, token = api_token_issue(user=decoctor, name="bench")
    paths = []
    for n in range(count):
        patient = Patient.objects.create(
            name=f"工位{n}", institution=lead, sex="F", date_of_birth=date(1980, 1, 1), mobile="13900000000"
        )
        body = {**submit_body(patient.pk), "decoction": "center"}
        prescription, _ = prescription_submit(actor=clinician, patient=patient, form=PrescriptionForm.of(body))
        for stage in (Stage.AI_AUDITED, Stage.APPROVED, Stage.DISPENSED, Stage.RECHECKED):
            record_event(prescription=prescription, stage=stage)
        Prescription.objects.filter(pk=prescription.pk).update(status=Stage.RECHECKED)
        paths.append(f"/api/v1/prescriptions/{prescription.pk}/events/")
    return token, paths


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--same-patient", action="store_true")
    parser.add_argument("--events", action="store_true", help="a station event (soaking) instead of the submit")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    token, patient = setup()
    if args.events:
        token, paths = station_setup(args.submits)
        requests = [(path, {"stage": "soaking", "tank": "T-01"}) for path in paths]
    else:
        lead = Patient.objects.get(pk=patient).institution
        patients = [patient] * args.submits
        if not args.same_patient:
            patients = [
                Patient.objects.create(
                    name=f"写入{n}", institution=lead, sex="F", date_of_birth=date(1980, 1, 1), mobile="13900000000"
                ).pk
                for n in range(args.submits)
            ]
        requests = [("/api/v1/prescriptions/", submit_body(pk)) for pk in patients]
    client, headers = Client(HTTP_HOST="127.0.0.1"), {"Authorization": f"Token {token}"}
    try:
        post(client, *requests[0], headers)  # warm up: the rule snapshot
        with CaptureQueriesContext(connection) as statements:
            post(client, *requests[1], headers)
        sent = statements.captured_queries  # copied now: the next request empties the log
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
        floor, measured = [], []
        for path, body in requests[2:]:  # interleaved, so both see the same load on a shared machine
            floor.append(post(client, "/bench/insert-one/", {}, headers))
            if profiler:
                profiler.enable()
            measured.append(post(client, path, body, headers))
            if profiler:
                profiler.disable()
    finally:
        app.control.purge()  # no worker runs here: drop this run's messages from its own queue
    what = "station event (soaking)" if args.events else "submit, 12 herbs"
    print(f"one {what}, token authentication ({connection.vendor}): {len(sent)} statements")
    for query in sent:
        print("   ", query["sql"][:160])
    print(f"in process, median of {len(measured)}{' (one patient)' if args.same_patient else ''}")
    target = "POST …/events/" if args.events else f"POST {requests[0][0]}"
    for label, times in (("floor: one-row insert", floor), (target, measured)):
        wall, cpu = (statistics.median(t[i] for t in times) * 1000 for i in (0, 1))
        print(f"  {label:30} {wall:7.2f} ms wall  {cpu:7.2f} ms CPU of this process")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(80)
        stats.sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
