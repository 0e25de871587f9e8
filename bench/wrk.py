"""wrk (Debian's `wrk`, a C load generator that leaves the CPU to the server) driven by a Lua
script written for each case: GET or POST, a JSON body, headers, a path with `{id}` taken from a
list (each request moves a different row on) and a body with `{patient}` rotating over a list.
The script's done() prints requests, errors and p50/p95/p99 as JSON."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS, CONNECTIONS = 2, 32

SCRIPT = """
wrk.method = %(method)s
wrk.headers["Content-Type"] = "application/json"
%(headers)s
local body = %(body)s
local ids = {%(ids)s}
local patients = {%(patients)s}
local offset = %(offset)d
next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end
local count = 0
function request()
  local n = count * %(threads)d + tid
  count = count + 1
  local path = %(path)s
  if #ids > 0 then
    local id = ids[offset + n + 1]
    if id == nil then error("the benchmark ran out of prepared rows") end
    path = string.gsub(path, "{id}", tostring(id))
  end
  local sent = body
  if #patients > 0 then
    sent = string.gsub(body, '"{patient}"', tostring(patients[(n %% #patients) + 1]))
  end
  return wrk.format(nil, path, nil, sent)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "micros": %%d, "errors": %%d, "p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class Case:
    name: str
    server: str  # "project" or "bare"
    method: str
    path: str
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    ids: list = field(default_factory=list)  # path {id}: one row per request, never reused
    patients: list = field(default_factory=list)  # body "{patient}": rotated
    offset: int = 0  # the first unused entry of `ids`


@dataclass
class Result:
    rate: float  # requests per second
    p50: float  # ms
    p95: float
    p99: float
    errors: int  # connection errors, timeouts and answers other than 2xx/3xx
    requests: int


def lua(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Lua string literal here


def script(case: Case) -> str:
    body = json.dumps(case.body, ensure_ascii=False) if case.body is not None else ""
    headers = "\n".join(f"wrk.headers[{lua(k)}] = {lua(v)}" for k, v in case.headers.items())
    return SCRIPT % {
        "method": lua(case.method),
        "headers": headers,
        "body": lua(body) if body else "nil",
        "ids": ",".join(map(str, case.ids)),
        "patients": ",".join(map(str, case.patients)),
        "offset": case.offset,
        "threads": THREADS,
        "path": lua(case.path),
    }


def load(port: int, case: Case, *, seconds: int) -> Result:
    """Drive `case` for `seconds` at CONNECTIONS connections. A case with `ids` starts at
    `case.offset`: the caller moves it past the rows used (bench/sidebyside.py asks the database)."""
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk; `make bench` installs it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script(case))
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(THREADS),
                "-c",
                str(CONNECTIONS),
                "-d",
                f"{seconds}s",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    line = next((line for line in out.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result for {case.name}:\n{out}")
    raw = json.loads(line.removeprefix("RESULT "))
    return Result(
        rate=raw["requests"] / (raw["micros"] / 1e6),
        p50=raw["p50"] / 1000,
        p95=raw["p95"] / 1000,
        p99=raw["p99"] / 1000,
        errors=raw["errors"],
        requests=raw["requests"],
    )


def run_django(settings: str, *args: str) -> None:
    """A manage command under other settings (the bare stack's), in a child process."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    subprocess.run([sys.executable, "-m", "django", *args], cwd=ROOT, env=env, check=True)
