"""The oversight dashboards at a county's ten-year scale (issue 18): each dashboard's time at
1,000,000 prescriptions against its time at 10,000, in the same run, on PostgreSQL.
Target: each dashboard at 1 M within 3× its time at 10 k.

    python bench/dashboards.py                          # 10 k and 1 M (generates both; long)
    python bench/dashboards.py --large 200000           # a smaller large run
    python bench/dashboards.py --reuse                  # reuse databases this script generated
                                                        # with the same size, years and seed

Each history is written by `manage.py generate_history` (whose time and rows/s are printed) into
a database of its own on the PostgreSQL of DATABASE_URL (default the local server), then every
dashboard is opened by the county's administrator through Django's test client, in one process
per database, with the default filters (the last 90 days) and with a year: warm-up, then the
median and p90 of REPEATS. The slowest SQL statement of each dashboard at the large size is run
again under EXPLAIN ANALYZE; the plans go to bench/results/dashboards-explain.md and the figures
to bench/results/dashboards.md."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# The bench's own trace key: a reused database keeps chains keyed with the key that wrote them.
BENCH_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-dashboards-not-a-secret-0123456789abcdefghijklmnopqrstuv",
    "TCM_TRACE_KEYS": "bd:" + "5a" * 32,
    "ALLOWED_HOSTS": "testserver,127.0.0.1",
    "SITE_URL": "http://127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "DJANGO_SETTINGS_MODULE": "bench.settings",  # plain static URLs: no collectstatic in a bench
}
REPEATS = 15
ROUNDS = 2


def database_url(name: str) -> str:
    base, _sep, _db = BASE_URL.rpartition("/")
    return f"{base}/{name}"


def run(args: list, env: dict) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def psql(sql: str, database: str = "postgres") -> str:
    return run(["psql", database_url(database), "-tAc", sql], os.environ.copy()).strip()


def prepared(size: int, years: int, seed: int, reuse: bool) -> tuple[str, dict]:
    """A database holding a generated history of `size` prescriptions; what generating it cost."""
    name = f"tcm_bench_dash_{size}_{years}y_{seed}"
    env = {**os.environ, **BENCH_ENV, "DATABASE_URL": database_url(name), "TCM_VAR_DIR": f"/tmp/{name}"}
    marker = "SELECT note FROM bench_marker LIMIT 1"
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    if reuse and exists:
        note = psql(f"SELECT CASE WHEN to_regclass('bench_marker') IS NULL THEN '' ELSE ({marker}) END", name)
        if note:
            return env, {**json.loads(note), "reused": True}
    psql(f'DROP DATABASE IF EXISTS "{name}"')
    psql(f'CREATE DATABASE "{name}"')
    python = sys.executable
    run([python, "manage.py", "migrate", "--noinput", "-v0"], env)
    started = time.perf_counter()
    out = run(
        [
            python,
            "manage.py",
            "generate_history",
            "--prescriptions",
            str(size),
            "--years",
            str(years),
            "--seed",
            str(seed),
        ],
        env,
    )
    cost = {"seconds": round(time.perf_counter() - started, 1), "output": out.strip().splitlines()[-3:]}
    psql("CREATE TABLE bench_marker (note text)", name)
    note = json.dumps(cost, ensure_ascii=False).replace("'", "''")
    psql(f"INSERT INTO bench_marker VALUES ('{note}')", name)
    psql("VACUUM ANALYZE", name)
    return env, {**cost, "reused": False}


def measure(env: dict) -> dict:
    out = run([sys.executable, "bench/dashboards_measure.py", str(REPEATS)], env)
    return json.loads(out.strip().splitlines()[-1])


def report(small: int, large: int, figures: dict, costs: dict) -> str:
    lines = [
        f"# Dashboards at {small:,} and {large:,} prescriptions (PostgreSQL, this machine)",
        "",
        "| size | generate_history | rows |",
        "|---|---|---|",
    ]
    for size in (small, large):
        cost = costs[size]
        lines.append(
            f"| {size:,} | {cost['seconds']} s{' (reused)' if cost['reused'] else ''} | {'; '.join(cost['output'])} |"
        )
    lines += [
        "",
        "Median (p90) ms per page, opened by the county's administrator; ratio = large / small (target ≤ 3).",
        "",
        f"| dashboard | range | {small:,} | {large:,} | ratio |",
        "|---|---|---|---|---|",
    ]
    for key, at_small in figures[small]["pages"].items():
        at_large = figures[large]["pages"][key]
        ratio = at_large["median"] / at_small["median"]
        verdict = "" if ratio <= 3 else " **missed**"
        lines.append(
            f"| {key.split('|')[0]} | {key.split('|')[1]} | {at_small['median']:.1f} ({at_small['p90']:.1f}) "
            f"| {at_large['median']:.1f} ({at_large['p90']:.1f}) | {ratio:.2f}{verdict} |"
        )
    lines += [
        "",
        "The beat's rollup refresh (ms; months rebuilt):",
        "",
        f"| refresh | {small:,} | {large:,} |",
        "|---|---|---|",
    ]
    for label, at_small in figures[small].get("beat", {}).items():
        at_large = figures[large]["beat"][label]
        cells = [f"{at['ms']:.0f} ({sum(at['months'].values())})" for at in (at_small, at_large)]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    lines += ["", f"Rollup rows at {large:,}: {figures[large]['rollup_rows']}", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--reuse", action="store_true")
    options = parser.parse_args()
    figures, costs, envs = {}, {}, {}
    for size in (options.small, options.large):
        envs[size], costs[size] = prepared(size, options.years, options.seed, options.reuse)
        print(f"{size:,}: history ready ({costs[size]})", flush=True)
    # Small, large, small, large: a shared machine's load drifts over minutes, so each page keeps
    # the round with the lower median, measured at both sizes in the same stretch of time.
    for _round in range(ROUNDS):
        for size in (options.small, options.large):
            measured = measure(envs[size])
            kept = figures.setdefault(size, measured)
            for key, page in measured["pages"].items():
                if page["median"] < kept["pages"][key]["median"]:
                    kept["pages"][key] = page
    text = report(options.small, options.large, figures, costs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboards.md").write_text(text)
    explain = [f"The slowest statement of each dashboard at {options.large:,} prescriptions (EXPLAIN ANALYZE).", ""]
    for name, plan in figures[options.large]["explain"].items():
        explain += [f"### {name}", "", "```", plan["sql"], "", plan["plan"], "```", ""]
    (RESULTS / "dashboards-explain.md").write_text("\n".join(explain))
    readme = ROOT / "bench" / "README.md"
    start, end = "<!-- dashboards-explain:start -->", "<!-- dashboards-explain:end -->"
    before, _start, rest = readme.read_text().partition(start)
    _old, _end, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{text}\n" + "\n".join(explain) + f"\n{end}{after}")
    print(text)


if __name__ == "__main__":
    main()
