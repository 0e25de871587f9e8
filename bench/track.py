"""The patient's tracking page under gunicorn at 32 concurrent clients: req/s and p99, as a
ratio to a minimal DRF endpoint (no authentication, no database) measured in the same run.
Targets: ≥ 0.7 of the floor's req/s, p99 < 50 ms.

    python bench/track.py                      # SQLite in a temporary folder
    DATABASE_URL=postgres://… REDIS_URL=redis://… python bench/track.py
"""

import os
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.load import gunicorn, load, percentile, production_environment, wrk_load  # noqa: E402

# One benchmark client is one IP: lift the per-IP limit that protects the page from one phone.
production_environment(TRACK_RATE_PER_MINUTE="100000000")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from core.db import connection_url  # noqa: E402
from prescriptions.models import Prescription  # noqa: E402

CLIENTS, SECONDS = 32, 8


def main():
    call_command("migrate", verbosity=0)
    if not Prescription.objects.filter(status="shipped").exists():
        call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    token = Prescription.objects.filter(status="shipped").exclude(tracking_token=None).first().tracking_token
    env = {"DATABASE_URL": connection_url()}
    with gunicorn(env, "-w", "4") as port:
        measured = {}
        for name, path in (("floor", "/bench/ping/"), ("page", f"/t/{token}/")):
            load(port, "GET", path, clients=CLIENTS, seconds=2)  # warm up
            result = wrk_load(port, path, clients=CLIENTS, seconds=SECONDS)
            if result is None:  # no wrk on this machine: Python clients (they take CPU from the server)
                rate, latencies = load(port, "GET", path, clients=CLIENTS, seconds=SECONDS)
                result = (rate, statistics.median(latencies), percentile(latencies, 0.99), 0)
            if result[3]:
                raise SystemExit(f"{path}: {result[3]} responses were not 2xx")
            measured[name] = result
    tool = "wrk" if shutil.which("wrk") else "Python clients"
    (floor_rate, floor_p50, floor_p99, _), (page_rate, page_p50, p99, _) = measured["floor"], measured["page"]
    ratio = page_rate / floor_rate
    print(
        f"GET under gunicorn (4 sync workers, {CLIENTS} concurrent clients via {tool}, {SECONDS} s each, "
        f"{connection.vendor})"
    )
    print(
        f"  floor: minimal DRF endpoint  {floor_rate:7.1f} req/s  p50 {floor_p50 * 1000:6.1f} ms"
        f"  p99 {floor_p99 * 1000:6.1f} ms"
    )
    print(
        f"  tracking page /t/<token>/    {page_rate:7.1f} req/s  p50 {page_p50 * 1000:6.1f} ms"
        f"  p99 {p99 * 1000:6.1f} ms"
    )
    print(
        f"  = {ratio:.2f} of the floor (target ≥ 0.7: {'met' if ratio >= 0.7 else 'NOT met'}); "
        f"p99 {p99 * 1000:.1f} ms (target < 50 ms: {'met' if p99 < 0.05 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
