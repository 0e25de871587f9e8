"""One submit (12 herbs, `POST /api/v1/prescriptions/` with token authentication) in process,
without a server: the SQL statements it sends, and its median time over a run of submits, beside
the one-row insert floor of bench/submit.py through the same stack. `--profile` prints where the
time of the submits goes (cProfile, cumulative).

    python bench/writes.py [--submits 200] [--same-patient] [--profile]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.load import production_environment  # noqa: E402

production_environment(TCM_CELERY_QUEUE=f"bench-{secrets.token_hex(4)}")
os.makedirs(Path(os.environ["TCM_VAR_DIR"]) / "static", exist_ok=True)  # whitenoise warns without it

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.submit import setup, submit_body  # noqa: E402
from patients.models import Patient  # noqa: E402
from tcm_platform.celery import app  # noqa: E402


def post(client, path, body, headers) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one POST."""
    payload = json.dumps(body, ensure_ascii=False)
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.post(path, payload, content_type="application/json", headers=headers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if response.status_code != 201:
        raise SystemExit(f"POST {path}: HTTP {response.status_code} {response.content[:300]!r}")
    return wall, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--same-patient", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    token, patient = setup()
    lead = Patient.objects.get(pk=patient).institution
    patients = [patient] * args.submits
    if not args.same_patient:
        patients = [
            Patient.objects.create(
                name=f"写入{n}", institution=lead, sex="F", date_of_birth="1980-01-01", mobile="13900000000"
            ).pk
            for n in range(args.submits)
        ]
    bodies = [submit_body(pk) for pk in patients]
    client, headers = Client(HTTP_HOST="127.0.0.1"), {"Authorization": f"Token {token}"}
    try:
        post(client, "/api/v1/prescriptions/", bodies[0], headers)  # warm up: the rule snapshot
        with CaptureQueriesContext(connection) as statements:
            post(client, "/api/v1/prescriptions/", bodies[1], headers)
        sent = statements.captured_queries  # copied now: the next request empties the log
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
        floor, submit = [], []
        for body in bodies[2:]:  # interleaved, so both see the same load on a shared machine
            floor.append(post(client, "/bench/insert-one/", {}, headers))
            if profiler:
                profiler.enable()
            submit.append(post(client, "/api/v1/prescriptions/", body, headers))
            if profiler:
                profiler.disable()
    finally:
        app.control.purge()  # no worker runs here: drop this run's messages from its own queue
    print(f"one submit, 12 herbs, token authentication ({connection.vendor}): {len(sent)} statements")
    for query in sent:
        print("   ", query["sql"][:160])
    print(f"in process, median of {len(submit)} ({'one patient' if args.same_patient else 'a patient each'})")
    for label, times in (("floor: one-row insert        ", floor), ("POST /api/v1/prescriptions/  ", submit)):
        wall, cpu = (statistics.median(t[i] for t in times) * 1000 for i in (0, 1))
        print(f"  {label} {wall:7.2f} ms wall  {cpu:7.2f} ms CPU of this process")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(80)
        stats.sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
