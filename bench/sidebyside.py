"""The platform against the bare stack, side by side (issue 23).

Two gunicorns (4 sync workers each) on the same PostgreSQL database and Redis: the project
(production settings, every middleware, token authentication, throttling) and the bare stack
(bench/bare: Django + DRF with only CommonMiddleware). wrk (-t2 -c32) drives one endpoint at a
time, floors and project endpoints interleaved, three repetitions; each project figure is divided
by its floor from the same repetition. Printed, and written to bench/results/latest.md.

    python bench/sidebyside.py [--seconds 8] [--repeats 3] [--threads 1]

`--threads N` (N > 1) runs both gunicorns with the gthread worker class, N threads per worker,
instead of sync workers: the same setup for both, so a request that waits on the database or
Redis lets another one run in the same process (bench/README.md shows both).

DATABASE_URL (default: a fresh database `tcm_bench_side` on 127.0.0.1:5432) and REDIS_URL
(default redis://127.0.0.1:6379/12) say where; the broker is Redis too, on a queue of its own
that is purged at the end (no worker runs: the audit messages of the submits just wait)."""

import argparse
import os
import secrets
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import load, wrk  # noqa: E402
from bench.load import gunicorn, production_environment, rss_mb  # noqa: E402

GIVEN = "DATABASE_URL" in os.environ  # the caller's database is used as it is, never dropped
BASE = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tcm_bench_side")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
production_environment(
    DATABASE_URL=BASE,
    REDIS_URL=REDIS,
    CELERY_BROKER_URL=REDIS,
    TCM_CELERY_QUEUE=f"bench-{secrets.token_hex(4)}",
    # One wrk is one address: lift the tracking page's per-address limit, so the limiting code
    # still runs on every request but never answers 429 (the API has no per-token rate limit).
    TRACK_RATE_PER_MINUTE="1000000000",
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bench import seed  # noqa: E402
from prescriptions.models import Prescription  # noqa: E402
from tcm_platform.celery import app  # noqa: E402

HERBS = ["黄芪", "党参", "白术", "茯苓", "炙甘草", "当归", "川芎", "白芍", "熟地黄", "陈皮", "法半夏", "柴胡"]
# (name, floor, target ratio, target p99 multiple of the floor's or None)
TARGETS = {
    "ping": ("hello", 0.9, None),
    "tracking page (cached)": ("hello", 0.8, 1.5),
    "tracking JSON": ("hello", None, None),
    "one-row insert (token)": ("insert", 0.8, None),
    "submit, 12 herbs": ("insert", 0.25, None),
    "station event (soaking)": ("insert", 0.4, None),
}


def fresh_database():
    """Drop and create the benchmark's database (only the default one: a DATABASE_URL given by
    the caller is used as it is)."""
    if not GIVEN:
        load.fresh_database(BASE)


def prepare(soaks: int) -> dict:
    call_command("migrate", verbosity=0)
    wrk.run_django("bench.bare.settings", "migrate", "--noinput", "-v0")
    tokens = seed.demo_county()
    prescription = Prescription.objects.filter(status="shipped").exclude(tracking_token=None).first()
    return {
        "tokens": tokens,
        "track": prescription.tracking_token,
        "patients": seed.patients(2000),
        "soak": seed.waiting_to_soak(soaks),
    }


def cases(state: dict) -> list[wrk.Case]:
    clinician = {"Authorization": f"Token {state['tokens']['clinician']}"}
    decoctor = {"Authorization": f"Token {state['tokens']['decoctor']}"}
    submit = {
        "patient": "{patient}",
        "consult": {"tcm_disease": "虚劳"},
        "doses": 7,
        "delivery": "pickup",
        "usage": "每日1剂，水煎分2次温服",
        "items": [{"herb": h, "grams": 9} for h in HERBS],
    }
    return [
        wrk.Case("hello", "bare", "GET", "/hello/"),
        wrk.Case("cached", "bare", "GET", "/cached/"),
        wrk.Case("insert", "bare", "POST", "/insert/", body={"note": "x"}),
        wrk.Case("ping", "project", "GET", "/bench/ping/"),
        wrk.Case("tracking page (cached)", "project", "GET", f"/t/{state['track']}/"),
        wrk.Case("tracking JSON", "project", "GET", f"/api/v1/track/{state['track']}/"),
        wrk.Case("one-row insert (token)", "project", "POST", "/bench/insert-one/", body={}, headers=clinician),
        wrk.Case(
            "submit, 12 herbs",
            "project",
            "POST",
            "/api/v1/prescriptions/",
            body=submit,
            headers=clinician,
            patients=state["patients"],
        ),
        wrk.Case(
            "station event (soaking)",
            "project",
            "POST",
            "/api/v1/prescriptions/{id}/events/",
            body={"stage": "soaking", "tank": "T1"},
            headers=decoctor,
            ids=state["soak"],
        ),
    ]


def measure(options, state) -> tuple[dict, dict]:
    """Every case in every repetition; the servers' memory at start and end."""
    env = {"DATABASE_URL": BASE, "REDIS_URL": REDIS}
    every = cases(state)
    figures = {case.name: [] for case in every}
    workers = ["-w", "4", *(["-k", "gthread", "--threads", str(options.threads)] if options.threads > 1 else [])]
    with (
        gunicorn(env, *workers) as (project, project_pid),
        gunicorn({**env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}, *workers, app="bench.bare.wsgi") as (
            bare,
            bare_pid,
        ),
    ):
        ports = {"project": project, "bare": bare}
        for case in every:  # warm every worker's connections and caches
            run(ports[case.server], case, seconds=2)
        memory = {"start": {"project": rss_mb(project_pid), "bare": rss_mb(bare_pid)}}
        for _repeat in range(options.repeats):
            for case in every:
                figures[case.name].append(run(ports[case.server], case, seconds=options.seconds))
        memory["end"] = {"project": rss_mb(project_pid), "bare": rss_mb(bare_pid)}
    return figures, memory


def run(port: int, case: wrk.Case, *, seconds: int) -> wrk.Result:
    result = wrk.load(port, case, seconds=seconds)
    if case.ids:  # start the next run after the last row this one moved on
        moved = set(
            Prescription.objects.filter(pk__in=case.ids).exclude(status="rechecked").values_list("pk", flat=True)
        )
        case.offset = 1 + max((i for i, pk in enumerate(case.ids) if pk in moved), default=-1)
    return result


def setup(options) -> str:
    return f"4 gthread workers × {options.threads} threads" if options.threads > 1 else "4 sync workers"


def report(options, figures: dict, memory: dict) -> str:
    lines = [
        "# The platform against the bare stack",
        "",
        f"gunicorn {setup(options)} each, wrk -t2 -c32, {options.seconds} s per figure, {options.repeats} repetitions "
        "interleaved; PostgreSQL and Redis on 127.0.0.1. Ratio = project req/s ÷ the floor's req/s in the same "
        "repetition: median (range). Latencies are the median repetition's, in ms.",
        "",
        "| endpoint | req/s | p50 / p95 / p99 | errors | floor | floor req/s | floor p99 | ratio | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (floor, target, p99_multiple) in TARGETS.items():
        runs, floors = figures[name], figures[floor]
        ratios = [run.rate / base.rate for run, base in zip(runs, floors, strict=True)]
        mid, base = runs[len(runs) // 2], floors[len(floors) // 2]
        verdict = "—"
        if target is not None:
            met = statistics.median(ratios) >= target
            verdict = f"≥ {target}: {'met' if met else f'**missed by {target - statistics.median(ratios):.2f}**'}"
            if p99_multiple:
                within = mid.p99 <= p99_multiple * base.p99
                verdict += f"; p99 ≤ {p99_multiple}× floor: {'met' if within else '**missed**'}"
        lines.append(
            f"| {name} | {mid.rate:,.0f} | {mid.p50:.1f} / {mid.p95:.1f} / {mid.p99:.1f} | "
            f"{sum(run.errors for run in runs)} | bare {floor} | {base.rate:,.0f} | {base.p99:.1f} | "
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | {verdict} |"
        )
    cached = figures["cached"][len(figures["cached"]) // 2]
    lines += [
        "",
        f"Bare cached read (one Redis round trip): {cached.rate:,.0f} req/s, p99 {cached.p99:.1f} ms.",
        "",
        "| memory (RSS, MB, master + workers) | start | end | growth |",
        "|---|---|---|---|",
    ]
    for server in ("project", "bare"):
        start, end = memory["start"][server], memory["end"][server]
        lines.append(f"| {server} | {start:.0f} | {end:.0f} | {(end - start) / start:+.1%} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="> 1: gthread workers with this many threads")
    options = parser.parse_args()
    fresh_database()
    try:
        per_second = 700 if options.threads == 1 else 1500  # more than the station step can take
        state = prepare(soaks=per_second * options.seconds * options.repeats + 2000)
        figures, memory = measure(options, state)
    finally:
        app.control.purge()
    text = report(options, figures, memory)
    out = ROOT / "bench" / "results" / ("latest.md" if options.threads == 1 else f"latest-threads{options.threads}.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
