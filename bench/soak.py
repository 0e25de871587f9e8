"""The soak (issue 23): N prescriptions (10,000 by default) through the whole pipeline by
simulated users over HTTP, with the real Celery worker and beat, on PostgreSQL and Redis.

    python bench/soak.py [--prescriptions 10000] [--in-flight 300] [--stall 300] [--fresh]

The six demo clinicians' HIS submit (a token each, one patient per prescription) while fewer than
--in-flight of the run's prescriptions are on their way, so the pipeline runs at its own pace
rather than piling up a backlog no county has. The REAL worker audits them (`celery worker` on a
queue of this run's own, 2 prefork children) and the one `celery beat` runs every periodic job
(audit sweep, trace pull, stuck flags, rollups...). The pharmacist opens the audit queue, claims
and approves; the dispensing tablets (two) read the sheet and send its grams with a photo; a
second pharmacist (pharmacist2) re-checks; the decoction tablet soaks, decocts and packs (one
thread per station); the courier takes what waits into runs of 20, sets off and delivers. An idle
station opens its queue again after a second. The calls are bench/users.py's, as in
tests/test_api_day.py.

Changed for the soak, only in its own database: StationSettings.soak_min_minutes = 0 and every
decoction window from 0 minutes (the SOP's 30 minutes of soaking and 20 or more of decoction would
hold 10,000 prescriptions for days, or need every step acknowledged as too short); 1.1 × what the
run dispenses of each herb received as stock; the tracking and API rate limits lifted (every
simulated user is 127.0.0.1).

Counted at the end, from the database: lost (acknowledged with a 201 but absent, or never
audited: still `submitted`), stuck (audited but not `delivered`), 5xx and unanswered requests per
type, every trace chain verified (verify_trace) and each delivered prescription's stages compared
with the centre's whole path. RSS of the web (gunicorn master + 4 sync workers) and the worker
(main + children) when 5 %, 50 % and 100 % are delivered: by 5 % every code path has run, so the
growth from there is what a long run adds (target < 10 %). The floor: the bare stack's gunicorn
(4 workers), serving a hello and a one-row insert every 100 ms through the whole soak; its
latencies stand beside each request type's and its RSS growth beside the platform's.
Printed, and written to bench/results/soak.md.

DATABASE_URL (default: the database `tcm_bench_soak`, dropped and created; a given one is used as
it is unless --fresh), REDIS_URL (default redis://127.0.0.1:6379/6) for the cache and
CELERY_BROKER_URL (default: REDIS_URL) for the broker."""

import argparse
import secrets
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import load, users  # noqa: E402
from bench.client import Http, Recorder  # noqa: E402
from bench.load import rss_mb, servers  # noqa: E402

SETTING = load.load_environment("tcm_bench_soak", f"soak-{secrets.token_hex(4)}")

import django  # noqa: E402

django.setup()

from bench import seed, soak_report  # noqa: E402
from tcm_platform.celery import app  # noqa: E402
from tcm_platform.management.commands.seed_demo import demo_photo  # noqa: E402

CLINICIANS = ["clinician", "clinician2", "expert", "clinician3", "clinician4", "clinician5"]
STAFF = ["pharmacist", "pharmacist2", "dispenser", "decoctor", "courier"]
MARKS = {"start": 0.05, "middle": 0.5, "end": 1.0}  # share delivered


class Soak:
    """The run's shared state: the submits reserved and acknowledged, what was delivered, stop."""

    def __init__(self, total: int, in_flight: int):
        self.total, self.in_flight = total, in_flight
        self.lock = threading.Lock()
        self.reserved = 0
        self.submitted: list[int] = []
        self.mine: set[int] = set()
        self.delivered: set[int] = set()
        self.stop = threading.Event()
        self.started = self.finished = 0.0

    def reserve(self) -> bool | None:
        """True: submit one more; False: not now (too many on their way); None: all submitted."""
        with self.lock:
            if self.reserved >= self.total:
                return None
            if self.reserved - len(self.delivered) >= self.in_flight:
                return False
            self.reserved += 1
            return True

    def add(self, pk: int | None) -> None:
        with self.lock:
            if pk is not None:
                self.submitted.append(pk)
                self.mine.add(pk)

    def deliver(self, ids: list[int]) -> None:
        """Count the run's own: the courier delivers the demo's parcels too."""
        with self.lock:
            self.delivered.update(pk for pk in ids if pk in self.mine)

    def done(self) -> bool:
        with self.lock:
            return self.reserved >= self.total and len(self.delivered) >= len(self.submitted)


def prepare(total: int, *, fresh: bool) -> dict:
    """The demo county, tokens, one patient per prescription, stock, quick station settings."""
    tokens = seed.county(SETTING, CLINICIANS + STAFF, fresh=fresh)
    share = total // len(CLINICIANS) + 1
    patients = {name: seed.patients(share, clinician=name) for name in CLINICIANS}
    seed.stock(users.HERBS, grams=int(9 * users.DOSES * total * 1.1) + 1000)
    seed.quick_stations()
    return {"tokens": tokens, "patients": patients, "photo": demo_photo().read()}


def clinician(soak: Soak, his: Http, patients: list[int]) -> None:
    for patient in patients:
        while (go := soak.reserve()) is False and not soak.stop.is_set():
            soak.stop.wait(0.2)
        if go is None or soak.stop.is_set():
            return
        soak.add(users.submit(his, patient))


def worker(soak: Soak, step) -> None:
    """A station user: do the next piece of work, or look again in a second when there is none."""
    while not soak.stop.is_set():
        if not step():
            soak.stop.wait(1.0)


def courier(soak: Soak, phone: Http, taken: users.Taken) -> bool:
    delivered = users.deliver(phone, taken)
    soak.deliver(delivered)
    return bool(delivered)


def floor_probe(soak: Soak, bare: Http) -> None:
    while not soak.stop.is_set():
        bare.get("bare hello", "/hello/")
        bare.post("bare insert", "/insert/", {"note": "soak"}, expect=(201,))
        soak.stop.wait(0.1)


def people(soak: Soak, state: dict, port: int, bare_port: int, recorder: Recorder) -> list[threading.Thread]:
    """One thread per simulated user (a clinician's HIS, a tablet, a phone), and the floor probe."""

    def http(name):
        return Http(port, recorder, token=state["tokens"][name])

    photo = state["photo"]
    taken = {station: users.Taken() for station in ("audit", "dispensing", *users.STEPS, "packaging", "courier")}
    pharmacy, dispensing, phone = http("pharmacist"), http("dispenser"), http("courier")
    decoction, recheck = http("decoctor"), http("pharmacist2")
    steps = [
        lambda: users.decide(pharmacy, taken["audit"]),
        lambda: users.station_step(dispensing, "dispensing", taken["dispensing"], photo=photo),
        lambda: users.station_step(dispensing, "dispensing", taken["dispensing"], photo=photo),
        lambda: users.station_step(recheck, "recheck", taken["recheck"]),
        *(
            (lambda station=station: users.station_step(decoction, station, taken[station]))
            for station in ("soaking", "decocting", "packaging")
        ),
        lambda: courier(soak, phone, taken["courier"]),
    ]
    threads = [
        threading.Thread(target=clinician, args=(soak, http(name), state["patients"][name]), daemon=True)
        for name in CLINICIANS
    ]
    threads += [threading.Thread(target=worker, args=(soak, step), daemon=True) for step in steps]
    threads.append(threading.Thread(target=floor_probe, args=(soak, Http(bare_port, recorder)), daemon=True))
    return threads


def watch(soak: Soak, pids: dict, stall: float) -> dict:
    """Sample memory every 5 s until every prescription is delivered or nothing moved for `stall`
    seconds; the samples at the MARKS."""
    marks, last_count, last_move, last_print = {}, 0, time.time(), 0.0

    def sample():
        return {
            "delivered": len(soak.delivered),
            "seconds": time.time() - soak.started,
            **{name: rss_mb(pid) for name, pid in pids.items()},
        }

    marks["idle"] = sample()
    while not soak.done():
        time.sleep(5)
        now = sample()
        for name, share in MARKS.items():
            if name not in marks and now["delivered"] >= share * soak.total:
                marks[name] = now
        if now["delivered"] != last_count:
            last_count, last_move = now["delivered"], time.time()
        if time.time() - last_print >= 30:
            last_print = time.time()
            print(
                f"  {now['seconds']:6.0f} s  submitted {len(soak.submitted):6d}  delivered {now['delivered']:6d}  "
                f"web {now['web']:.0f} MB  worker {now['worker']:.0f} MB",
                flush=True,
            )
        if time.time() - last_move > stall:
            print(f"  nothing delivered for {stall:.0f} s: stopping", flush=True)
            break
    soak.finished = time.time()
    marks["end"] = marks.get("end") or sample()
    return marks


def run(options, state: dict) -> tuple:
    soak, recorder = Soak(options.prescriptions, options.in_flight), Recorder()
    with servers(SETTING) as up:
        threads = people(soak, state, up["port"], up["bare_port"], recorder)
        soak.started = time.time()
        for thread in threads:
            thread.start()
        marks = watch(soak, {name: up[name] for name in ("web", "worker", "beat", "bare")}, options.stall)
        soak.stop.set()
        for thread in threads:
            thread.join(timeout=120)
    return soak, recorder.reset(), marks, up["log"].read_text(errors="replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prescriptions", type=int, default=10000)
    parser.add_argument("--in-flight", type=int, default=300, help="at most this many on their way at once")
    parser.add_argument("--stall", type=float, default=300, help="stop when nothing is delivered for this long (s)")
    parser.add_argument("--fresh", action="store_true", help="drop and create DATABASE_URL's database first")
    options = parser.parse_args()
    state = prepare(options.prescriptions, fresh=options.fresh)
    print(f"soak of {options.prescriptions:,} prescriptions, queue {SETTING['queue']}", flush=True)
    try:
        soak, tallies, marks, log = run(options, state)
    finally:
        app.control.purge()  # what beat sent that the worker had not taken when it stopped
    text = soak_report.report(options, soak, tallies, marks, log)
    out = ROOT / "bench" / "results" / "soak.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
