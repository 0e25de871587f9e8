"""What the soak (bench/soak.py) found, counted from the database and the simulated users'
tallies, as the markdown of bench/results/soak.md."""

import os
import time
from collections import Counter, defaultdict

from django.db import connection

from bench.client import figures
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services.integrity import verify_trace
from prescriptions.workflow import TRANSITIONS, Stage


def happy_path(*, decoction: str, delivery: str) -> list[str]:
    """Every stage a prescription passes when nothing is refused, read from the workflow table."""
    setbacks = (Stage.REJECTED, Stage.CANCELLED, Stage.RECHECK_FAILED)
    path = [Stage.SUBMITTED]
    while moves := [
        move
        for move in TRANSITIONS[path[-1]]
        if move.to not in setbacks and move.decoction in (None, decoction) and move.delivery in (None, delivery)
    ]:
        path.append(moves[0].to)
    return path


# Decocted at the centre and delivered to the address: bench/users.py's submission.
PATH = happy_path(decoction="center", delivery="address")
MEMORY = {"web": "web (gunicorn, 4 workers)", "worker": "Celery worker (-c 2)", "beat": "Celery beat"}


def _chunks(ids: list, size: int = 2000):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def outcome(ids: list[int]) -> dict:
    """lost: absent, or never audited; stuck: audited, not delivered; off_path: delivered with
    stages other than PATH; the whole database's trace chains verified."""
    statuses = {}
    for chunk in _chunks(ids):
        statuses.update(Prescription.objects.filter(pk__in=chunk).values_list("pk", "status"))
    delivered = [pk for pk in ids if statuses.get(pk) == Stage.DELIVERED]
    paths = defaultdict(list)
    for chunk in _chunks(delivered):
        events = TraceEvent.objects.filter(prescription_id__in=chunk).order_by("prescription_id", "seq")
        for pk, stage in events.values_list("prescription_id", "stage"):
            paths[pk].append(stage)
    started = time.perf_counter()
    problems, chains, events = verify_trace()
    return {
        "lost": [pk for pk in ids if statuses.get(pk) in (None, Stage.SUBMITTED)],
        "stuck": Counter(s for s in statuses.values() if s not in (Stage.SUBMITTED, Stage.DELIVERED)),
        "delivered": len(delivered),
        "off_path": [pk for pk in delivered if paths[pk] != PATH],
        "trace": (chains, events, problems, time.perf_counter() - started),
    }


def _verdict(value, target=0) -> str:
    return "met" if value <= target else "**missed**"


def _outcome_table(options, soak, tallies: dict, found: dict, log: str) -> list[str]:
    server_errors = sum(t.server_errors for t in tallies.values())
    unanswered = sum(t.unanswered for t in tallies.values())
    chains, events, problems, seconds = found["trace"]
    stuck = sum(found["stuck"].values())
    errors = [line.split("] ", 1)[-1][:160] for line in log.splitlines() if "ERROR/" in line or "CRITICAL/" in line]
    said = "; ".join(f"{n} × {message}" for message, n in Counter(errors).most_common(3))
    return [
        "| outcome | count | target |",
        "|---|---|---|",
        f"| submitted (201) | {len(soak.submitted):,} | {options.prescriptions:,} |",
        f"| delivered | {found['delivered']:,} | {len(soak.submitted):,} |",
        f"| lost (absent, or never audited) | {len(found['lost'])} | 0: {_verdict(len(found['lost']))} |",
        f"| stuck (audited, not delivered) | {stuck} {dict(found['stuck']) or ''} | 0: {_verdict(stuck)} |",
        f"| 5xx answers | {server_errors} | 0: {_verdict(server_errors)} |",
        f"| requests without an answer | {unanswered} | 0: {_verdict(unanswered)} |",
        f"| delivered with other stages than the centre's path | {len(found['off_path'])} | 0 |",
        f"| trace chains verified (whole database) | {chains:,} chains, {events:,} events, "
        f"{len(problems)} broken, {seconds:.1f} s | 0 broken: {_verdict(len(problems))} |",
        f"| errors logged by the worker and beat | {len(errors)} {said} | 0: {_verdict(len(errors))} |",
    ]


def _request_table(tallies: dict, seconds: float) -> list[str]:
    floors = {name: figures(tallies[name], seconds) for name in ("bare hello", "bare insert") if name in tallies}
    lines = [
        "| request | count | req/s | p50 / p95 / p99 ms | errors (5xx) | floor | floor p50 / p95 / p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, tally in sorted(tallies.items(), key=lambda item: -len(item[1].latencies)):
        if name in floors:
            continue
        mine = figures(tally, seconds)
        floor = "bare hello" if name.endswith(("queue", "sheet", "waiting")) else "bare insert"
        base = floors.get(floor, {"p50": 0, "p95": 0, "p99": 0})
        lines.append(
            f"| {name} | {mine['count']:,} | {mine['rate']:.1f} | {mine['p50']:.0f} / {mine['p95']:.0f} / "
            f"{mine['p99']:.0f} | {mine['errors']} ({mine['server_errors']}) | {floor} | "
            f"{base['p50']:.0f} / {base['p95']:.0f} / {base['p99']:.0f} |"
        )
    return lines


def _memory_table(marks: dict) -> list[str]:
    lines = [
        "| RSS, MB | before load | 5 % delivered | 50 % | 100 % | growth 5 % → 100 % | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in [*MEMORY.items(), ("bare", "floor: bare stack's gunicorn (4 workers)")]:
        points = [marks.get(name, {}).get(key) for name in ("idle", "start", "middle", "end")]
        start, end = points[1], points[3]
        growth = (end - start) / start if start and end else None
        verdict = "—" if key in ("bare", "beat") or growth is None else f"< 10 %: {_verdict(growth, 0.10)}"
        cells = " | ".join(f"{p:.0f}" if p is not None else "—" for p in points)
        lines.append(f"| {label} | {cells} | {f'{growth:+.1%}' if growth is not None else '—'} | {verdict} |")
    return lines


def report(options, soak, tallies: dict, marks: dict, log: str) -> str:
    found = outcome(soak.submitted)
    elapsed = soak.finished - soak.started
    rate = found["delivered"] / (elapsed / 60) if elapsed else 0
    samples = [f"- {name}: {'; '.join(t.samples)}" for name, t in sorted(tallies.items()) if t.samples]
    return "\n".join(
        [
            f"# Soak: {options.prescriptions:,} prescriptions through the whole pipeline",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores shared with other work, PostgreSQL "
            f"({connection.settings_dict['NAME']}) and Redis on 127.0.0.1; gunicorn 4 sync workers, a Celery "
            f"worker (2 prefork children) and beat. {elapsed / 60:.1f} min from the first submit to the last "
            f"delivery, {rate:.1f} prescriptions delivered per minute, at most {options.in_flight} on their way. "
            "For the soak only: soaking ≥ 0 min and every decoction window 0–120 min (StationSettings).",
            "",
            *_outcome_table(options, soak, tallies, found, log),
            "",
            "Requests of the simulated users over the whole soak; reads beside the bare stack's hello, writes "
            "beside its one-row insert, each sent every 100 ms during the same soak.",
            "",
            *_request_table(tallies, elapsed),
            "",
            *_memory_table(marks),
            "",
            *(["First errors per request type:", "", *samples, ""] if samples else []),
        ]
    )
