"""The county's mixed load (issue 23): clinicians submitting, pharmacists deciding, stations
recording their steps, patients polling tracking pages and administrators opening dashboards, at
once, in a realistic ratio, beside the bare stack's hello and one-row insert measured in the same
run at the same concurrency.

    python bench/mixed.py [--seconds 60] [--users 32] [--history 2000] [--fresh]

The ratio is what one prescription brings to the county's servers, so the mix is the county's day
compressed (each simulated user draws the next piece of work with these weights, no think time):
- 1 submit: a clinician's HIS sends the prescription (token).
- 1 decision: the pharmacist opens the audit queue, claims, approves (3 requests).
- 5 station steps, one per station: dispensing (queue, sheet, the weights with a photo), re-check,
  soaking and decoction (queue, step), packaging (queue, sheet, step).
- 8 tracking polls: 6 opens of the page (the QR code on the bag, the SMS sent at each milestone:
  a patient looks a couple of times at approval, dispatch and delivery), 2 reads of the JSON a
  phone app polls; each of one of 2,000 links drawn at random, so most are a link's first open
  in the run, not a cached page.
- 0.15 dashboard opens: a county of ~300 prescriptions a day, a handful of administrators opening
  ~50 dashboard pages a day between them (one session, signed in through the login form).
The courier's app (a few requests per run of 20 parcels) and the editor's herb search
(bench/herb_search.py) are left out. The stations work on copies of the demo's prescriptions
waiting there (bench/seed.py) and on what the mix itself moves on; the REAL Celery worker audits
the mix's submits and beat runs its periodic jobs, as in production. Before measuring, 50 submits
fill the pharmacist's queue and the whole mix runs --warmup seconds unmeasured.

Two gunicorns of 4 sync workers each on the same PostgreSQL and Redis: the platform (production
settings) and the bare stack (bench/bare). The floors, bare hello for reads and bare insert for
writes, run --floor seconds each with the same client and the same number of users before and
after the mix, pooled. Rate limits are lifted (every simulated user is 127.0.0.1). StationSettings
as the soak's (seed.quick_stations). Printed, and written to bench/results/mixed.md.

DATABASE_URL (default: the database `tcm_bench_mixed`, dropped and created; a given one is used as
it is unless --fresh), REDIS_URL (default redis://127.0.0.1:6379/6) for the cache and
CELERY_BROKER_URL (default: REDIS_URL) for the broker, on a queue of this run's own."""

import argparse
import itertools
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import load, users  # noqa: E402
from bench.client import Http, Recorder, Tally, figures, signed_in  # noqa: E402
from bench.load import rss_mb, servers  # noqa: E402

SETTING = load.load_environment("tcm_bench_mixed", f"mixed-{secrets.token_hex(4)}")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bench import seed  # noqa: E402
from prescriptions.models import Prescription, PrescriptionItem  # noqa: E402
from prescriptions.workflow import Stage  # noqa: E402
from tcm_platform.celery import app  # noqa: E402
from tcm_platform.management.commands.seed_demo import demo_photo  # noqa: E402
from tcm_platform.management.demo_data import DEMO_PASSWORD  # noqa: E402

# Per prescription the county handles (see the docstring).
MIX = {
    "submit": 1,
    "decision": 1,
    "dispensing": 1,
    "recheck": 1,
    "soaking": 1,
    "decocting": 1,
    "packaging": 1,
    "tracking page": 6,
    "tracking JSON": 2,
    "dashboard": 0.15,
}
# The stations the demo's copies wait at (re-check works on what the mix dispenses).
COPIES = {"dispensing": Stage.APPROVED, "soaking": Stage.RECHECKED, "decocting": Stage.SOAKING}
COPIES["packaging"] = Stage.DECOCTING
STAFF = ["clinician", "pharmacist", "pharmacist2", "dispenser", "decoctor"]
FLOORS = {
    "bare hello": lambda bare: bare.get("bare hello", "/hello/"),
    "bare insert": lambda bare: bare.post("bare insert", "/insert/", {"note": "mixed"}, expect=(201,)),
}


def prepare(options) -> dict:
    """The demo county (with --history prescriptions of history), tokens, patients, copies
    waiting at each station, their stock, quick station settings, tracking links."""
    tokens = seed.county(SETTING, STAFF, fresh=options.fresh)
    if options.history:
        call_command("generate_history", prescriptions=options.history, years=1, verbosity=0)
    per_station = 20 * (options.seconds + options.warmup)
    for stage in COPIES.values():
        seed.waiting_at(stage, per_station)
    approved = PrescriptionItem.objects.filter(prescription__status=Stage.APPROVED)
    herbs = {*users.HERBS, *approved.values_list("herb__name", flat=True).distinct()}
    seed.stock(herbs, grams=500 * per_station)  # a herb line weighs well under 500 g for all doses
    seed.quick_stations()
    links = Prescription.objects.exclude(tracking_token=None).order_by("?").values_list("tracking_token", flat=True)
    return {
        "tokens": tokens,
        "patients": seed.patients(2000),
        "photo": demo_photo().read(),
        "links": list(links[:2000]),
    }


class Mix:
    """The simulated users' shared state: who they act as, what is taken, what found no work."""

    def __init__(self, state: dict, port: int, recorder: Recorder, session: dict):
        def http(name):
            return Http(port, recorder, token=state["tokens"][name])

        self.his, self.pharmacy, self.dispensing = http("clinician"), http("pharmacist"), http("dispenser")
        self.recheck, self.decoction = http("pharmacist2"), http("decoctor")
        self.phone = Http(port, recorder)
        self.browser = Http(port, recorder)
        self.browser.cookies.update(session)
        self.state, self.patients = state, itertools.cycle(state["patients"])
        self.taken = {name: users.Taken() for name in MIX}
        self.idle = dict.fromkeys(MIX, 0)  # draws that found nothing waiting
        self.lock = threading.Lock()

    def act(self, name: str, rng: random.Random) -> None:
        if name == "submit":
            users.submit(self.his, next(self.patients))
            return
        if name in ("tracking page", "tracking JSON"):
            users.track(self.phone, rng.choice(self.state["links"]), page=name == "tracking page")
            return
        if name == "dashboard":
            users.dashboard(self.browser, rng.choice(users.DASHBOARDS))
            return
        if name == "decision":
            moved = users.decide(self.pharmacy, self.taken[name])
        else:
            tablet = {"dispensing": self.dispensing, "recheck": self.recheck}.get(name, self.decoction)
            moved = users.station_step(tablet, name, self.taken[name], photo=self.state["photo"])
        if moved is None:
            with self.lock:
                self.idle[name] += 1


def drive(count: int, seconds: float, work) -> float:
    """`count` simulated users each calling work(n, rng) until `seconds` are over; the time taken."""
    deadline = time.perf_counter() + seconds

    def user(n):
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            work(n, rng)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def floors(options, bare: Http) -> float:
    """Each floor for --floor seconds at --users users; the seconds each took."""
    spent = sum(drive(options.users, options.floor, lambda n, rng, hit=hit: hit(bare)) for hit in FLOORS.values())
    return spent / len(FLOORS)


def measure(options, state: dict) -> dict:
    mixed, floor = Recorder(), Recorder()
    names, weights = list(MIX), list(MIX.values())
    with servers(SETTING) as up:
        port, bare_port, web, bare = up["port"], up["bare_port"], up["web"], up["bare"]
        session = signed_in(port, mixed, "countyadmin", DEMO_PASSWORD).cookies
        mix, bare_client = Mix(state, port, mixed, session), Http(bare_port, floor)
        for _ in range(50):  # the pharmacist's queue, audited by the worker during the warm-up
            users.submit(mix.his, next(mix.patients))
        drive(options.users, options.warmup, lambda n, rng: mix.act(rng.choices(names, weights)[0], rng))
        drive(options.users, 3, lambda n, rng: FLOORS["bare hello"](bare_client))
        mixed.reset()
        floor.reset()
        mix.idle = dict.fromkeys(MIX, 0)
        memory = {"start": {"platform": rss_mb(web), "bare": rss_mb(bare)}}
        floor_seconds = floors(options, bare_client)
        seconds = drive(options.users, options.seconds, lambda n, rng: mix.act(rng.choices(names, weights)[0], rng))
        floor_seconds += floors(options, bare_client)
        memory["end"] = {"platform": rss_mb(web), "bare": rss_mb(bare)}
    return {
        "mixed": mixed.reset(),
        "floor": floor.reset(),
        "seconds": seconds,
        "floor_seconds": floor_seconds,
        "memory": memory,
        "idle": mix.idle,
    }


def _row(name: str, mine: dict, share: float, floor_name: str, base: dict) -> str:
    return (
        f"| {name} | {share:.1%} | {mine['rate']:.1f} | {mine['p50']:.0f} / {mine['p95']:.0f} / {mine['p99']:.0f} | "
        f"{mine['errors']} ({mine['server_errors']}) | {floor_name} | {base['rate']:.0f} | "
        f"{base['p50']:.0f} / {base['p95']:.0f} / {base['p99']:.0f} |"
    )


def report(options, result: dict) -> str:
    seconds, tallies = result["seconds"], result["mixed"]
    base = {name: figures(tally, result["floor_seconds"]) for name, tally in result["floor"].items()}
    total = sum(len(t.latencies) for t in tallies.values())
    lines = [
        f"# Mixed load: the county's day at {options.users} simulated users",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores shared with other work; PostgreSQL and Redis on "
        f"127.0.0.1; gunicorn 4 sync workers for the platform and for the bare stack, a Celery worker (2 prefork "
        f"children) and beat. {options.users} users, no think time, {seconds:.0f} s of the mix after "
        f"{options.warmup} s of warm-up; floors {options.floor} s each before and after the mix, same client, same "
        f"users; history of {options.history:,} prescriptions. Weights per prescription: "
        + ", ".join(f"{name} {weight:g}" for name, weight in MIX.items())
        + ". Latencies in ms.",
        "",
        "| request | share | req/s | p50 / p95 / p99 | errors (5xx) | floor | floor req/s | floor p50 / p95 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, tally in sorted(tallies.items(), key=lambda item: -len(item[1].latencies)):
        floor = "bare hello" if name.endswith(("queue", "sheet", "page", "JSON", "dashboard")) else "bare insert"
        lines.append(_row(name, figures(tally, seconds), len(tally.latencies) / total, floor, base[floor]))
    pooled = Tally(latencies=[x for t in tallies.values() for x in t.latencies])
    pooled.errors = sum(t.errors for t in tallies.values())
    pooled.server_errors = sum(t.server_errors for t in tallies.values())
    lines.append(_row("**all of the mix**", figures(pooled, seconds), 1, "bare hello", base["bare hello"]))
    memory = result["memory"]
    lines += [
        "",
        "Draws that found nothing waiting (only the queue was read): "
        + (", ".join(f"{name} {count}" for name, count in result["idle"].items() if count) or "none")
        + ".",
        "",
        "| memory (RSS, MB, master + workers) | start | end | growth |",
        "|---|---|---|---|",
        *(
            f"| {server} | {memory['start'][server]:.0f} | {memory['end'][server]:.0f} | "
            f"{(memory['end'][server] - memory['start'][server]) / memory['start'][server]:+.1%} |"
            for server in ("platform", "bare")
        ),
    ]
    samples = [f"- {name}: {'; '.join(t.samples)}" for name, t in sorted(tallies.items()) if t.samples]
    return "\n".join([*lines, *(["", "First errors per request type:", "", *samples] if samples else [])]) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60, help="how long the mix is measured")
    parser.add_argument("--users", type=int, default=32, help="simulated users at once")
    parser.add_argument("--warmup", type=int, default=15, help="seconds of the mix before measuring")
    parser.add_argument("--floor", type=int, default=10, help="seconds of each floor, before and after the mix")
    parser.add_argument("--history", type=int, default=2000, help="prescriptions of history for the dashboards")
    parser.add_argument("--fresh", action="store_true", help="drop and create DATABASE_URL's database first")
    options = parser.parse_args()
    state = prepare(options)
    try:
        result = measure(options, state)
    finally:
        app.control.purge()  # what the worker had not taken when it stopped
    text = report(options, result)
    (ROOT / "bench" / "results" / "mixed.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
