"""One database's half of bench/dashboards.py: open every dashboard as the county's
administrator and print the timings, the rollups' sizes and the slowest statement's plan as one
JSON line. Run by bench/dashboards.py with DATABASE_URL set to the generated history."""

import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Institution, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import user_set_roles  # noqa: E402
from dashboards import models as rollups  # noqa: E402
from dashboards.pages import DASHBOARDS  # noqa: E402
from prescriptions.models import Milestone  # noqa: E402

WARM_UP = 2


def county_admin() -> User:
    root = Institution.objects.filter(parent__isnull=True, kind="lead_hospital").order_by("pk").first()
    admin, created = User.objects.get_or_create(username="bench-county-admin", defaults={"institution": root})
    if created:
        user_set_roles(user=admin, roles=[Role.ADMINISTRATOR])
    return admin


class Statements:
    """Times each SQL statement run while it is installed."""

    def __init__(self):
        self.seen = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seen.append((time.perf_counter() - started, sql, params))


def slowest_plan(client, url, params) -> dict:
    statements = Statements()
    with connection.execute_wrapper(statements):
        client.get(url, params)
    seconds, sql, params = max(
        (s for s in statements.seen if s[1].lstrip().upper().startswith("SELECT")), key=lambda s: s[0]
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "sql": cursor.mogrify(sql, params).decode() if hasattr(cursor, "mogrify") else sql,
        "plan": plan,
        "ms": seconds * 1000,
    }


def timed(client, url, params, repeats) -> dict:
    for _n in range(WARM_UP):
        assert client.get(url, params).status_code == 200, url
    times = []
    for _n in range(repeats):
        started = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    times.sort()
    return {"median": statistics.median(times), "p90": times[int(0.9 * (len(times) - 1))]}


def beat_tick() -> dict:
    """What the beat's refresh costs: once with nothing new, once after the last 1,000 trace
    events (their months are rebuilt, as when stages happened since the last tick)."""
    from dashboards.rollups import NAME, refresh
    from prescriptions.models import TraceEvent

    costs = {}
    for label, back in (("nothing new", 0), ("last 1,000 events", 1000)):
        last = TraceEvent.objects.aggregate(last=Max("pk"))["last"]
        rollups.Freshness.objects.filter(name=NAME).update(last_event_id=last - back)
        started = time.perf_counter()
        months = refresh()
        costs[label] = {"ms": (time.perf_counter() - started) * 1000, "months": months}
    return costs


def main(repeats: int):
    if not rollups.Freshness.objects.filter(refreshed_at__isnull=False).exists():
        sys.exit("The rollups of this database were never refreshed: generate_history refreshes them at its end.")
    client = Client()
    client.force_login(county_admin())
    last = Milestone.objects.aggregate(last=Max("submitted_at"))["last"]
    end = timezone.localtime(last).date()
    ranges = {"90 days": end - timedelta(days=89), "1 year": end - timedelta(days=364)}
    pages, explain = {}, {}
    for name, _title, _own in DASHBOARDS:
        url = f"/dashboards/{name}/"
        for label, start in ranges.items():
            params = {"start": start.isoformat(), "end": end.isoformat(), "month": end.strftime("%Y-%m")}
            pages[f"{name}|{label}"] = timed(client, url, params, repeats)
        explain[name] = slowest_plan(client, url, params)
    sizes = {
        model.__name__: model.objects.count()
        for model in (rollups.VolumeDay, rollups.DiagnosisMonth, rollups.HerbMonth, rollups.FindingDay)
        + (rollups.DecisionDay, rollups.StageMonth, rollups.QualityDay, rollups.ConsumptionDay)
    }
    print(
        json.dumps({"pages": pages, "explain": explain, "rollup_rows": sizes, "beat": beat_tick()}, ensure_ascii=False)
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
