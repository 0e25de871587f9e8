"""Faults against the real services (CI runs them with Redis as the broker and PostgreSQL as the
database): nothing submitted is lost when a worker is killed while it holds the audit, when Redis
stops with messages queued, or when PostgreSQL restarts; each prescription is audited once.

The worker is stopped inside the audit by a test-only hook (core.faults.pause_point, switched on
by environment variables that only settings_test reads) and killed while it holds the message.
Services are stopped and started with the commands the machine documents, and restored at the end
of each test."""

import http.client
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from accounts.services import api_token_issue
from audit.models import AuditRun
from prescriptions.models import Prescription, TraceEvent

from .factories import PatientFactory
from .workers import celery_beat, celery_worker, kill_hard, wait_for, wait_ready

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]
VISIBILITY = {"TCM_TEST_VISIBILITY_TIMEOUT": "5"}  # redelivery of a dead worker's message in 5 s
FAST_SWEEP = {"TCM_TEST_AUDIT_SWEEP_SECONDS": "1"}  # beat's audit sweep every second

pytestmark = [
    pytest.mark.worker,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://127.0.0.1:6379"),
        reason="fault tests kill workers holding Redis messages and stop the machine's Redis; "
        "they run where Redis is the broker (CI)",
    ),
]


def redis_up() -> bool:
    try:
        return redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def redis_restorer():
    yield
    if not redis_up():
        subprocess.run(REDIS_START, check=True)
        wait_for(redis_up, timeout=20)


def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def held_by_a_worker() -> list[bytes]:
    """Delivery tags of this run's messages that a worker took and has not acknowledged (kombu
    keeps them in the `unacked` hash until the ack, or until the visibility timeout restores them)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    return [tag for tag, raw in broker().hgetall("unacked").items() if queue in json.loads(raw)[1:]]


def purge_queue() -> int:
    """Drop this run's queued and unacknowledged messages, as a lost message would be; the count."""
    client, queue = broker(), settings.CELERY_TASK_DEFAULT_QUEUE
    tags = held_by_a_worker()
    for tag in tags:
        client.hdel("unacked", tag)
        client.zrem("unacked_index", tag)
    keys = [key for key in client.scan_iter(match=f"{queue}*") if key.decode().split("\x06")[0] == queue]
    queued = sum(client.llen(key) for key in keys)
    if keys:
        client.delete(*keys)
    return len(tags) + queued


def submit(client, patient, n):
    response = client.post(
        "/api/v1/prescriptions/",
        {
            "patient": patient.pk,
            "consult": {"tcm_disease": "感冒"},
            "doses": 3,
            "usage": "每日1剂，水煎分2次温服",
            "delivery": "pickup",
            "idempotency_key": f"fault-{n}",
            "items": [{"herb": "桂枝", "grams": 9}, {"herb": "白芍", "grams": 9}, {"herb": "炙甘草", "grams": 6}],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def audited(ids):
    return lambda: not Prescription.objects.filter(pk__in=ids, status="submitted").exists()


def assert_audited_once(ids):
    assert Prescription.objects.filter(pk__in=ids, status="ai_audited").count() == len(ids)
    assert AuditRun.objects.filter(prescription_id__in=ids).count() == len(ids)
    assert TraceEvent.objects.filter(prescription_id__in=ids, stage="ai_audited").count() == len(ids)


def pause_in_audit(flag: Path, point: str = "audit.in_transaction") -> dict:
    return {"TCM_TEST_PAUSE_IN_AUDIT": str(flag), "TCM_TEST_PAUSE_AT": point, **VISIBILITY}


def paused_in_audit(flag: Path, worker) -> int:
    """Wait until the worker stops inside the audit; the pid of the process running it."""
    text = wait_for(lambda: flag.exists() and flag.read_text().endswith("\n") and flag.read_text(), process=worker)
    assert text.startswith("entered ")
    return int(text.split()[1])


def submitted_and_paused(client, clinician, county, flag, worker):
    """A prescription submitted to a ready worker, which now holds its audit and is stopped in it."""
    patient = PatientFactory(institution=county["T001"])
    client.force_login(clinician)
    wait_ready(worker)
    pk = submit(client, patient, 0)
    return pk, paused_in_audit(flag, worker)


@pytest.mark.parametrize("point", ["audit.in_transaction", "audit.after_commit"])
def test_the_pool_process_killed_inside_the_audit_is_replaced_and_the_redelivered_message_audits_once(
    point, client, clinician, pharmacist, county, catalogue, tmp_path
):
    """An OOM kill of the process running the task: the main worker survives, sees the loss and
    (reject_on_worker_lost) puts the message back; acknowledged only after the work (acks_late)."""
    flag = tmp_path / "paused"
    with celery_worker("oom", env=pause_in_audit(flag, point)) as worker:
        pk, pid = submitted_and_paused(client, clinician, county, flag, worker)
        held = held_by_a_worker()
        committed = AuditRun.objects.filter(prescription_id=pk).exists()
        assert pid != worker.pid, "the pool process runs the task, not the main worker"
        os.kill(pid, signal.SIGKILL)

        wait_for(audited([pk]), process=worker, timeout=20)
        wait_ready(worker)  # the worker lived on, and anything left in the queue ran before this
    assert_audited_once([pk])
    assert held, "the killed process held the message, unacknowledged"
    assert committed == (point == "audit.after_commit"), "killed before / after the audit's commit"


def test_a_worker_killed_whole_while_it_holds_the_audit_loses_nothing_the_message_is_redelivered_to_another(
    client, clinician, pharmacist, county, catalogue, tmp_path
):
    """SIGKILL of the whole worker (main process and pool) inside the audit's transaction: nothing
    is committed, the message waits unacknowledged in Redis and comes back after the visibility
    timeout to a second worker. No beat runs and nobody calls the sweep."""
    flag = tmp_path / "paused"
    with celery_worker("doomed", env=pause_in_audit(flag)) as worker:
        pk, _ = submitted_and_paused(client, clinician, county, flag, worker)
        kill_hard(worker)
    assert Prescription.objects.get(pk=pk).status == "submitted", "the killed audit committed nothing"
    assert not AuditRun.objects.filter(prescription_id=pk).exists()
    held = held_by_a_worker()

    with celery_worker("heir", env=VISIBILITY) as heir:
        wait_for(audited([pk]), process=heir, timeout=30)
    assert_audited_once([pk])
    assert held, "the dead worker held the message, unacknowledged"
    assert not held_by_a_worker()


def test_a_worker_killed_inside_the_audit_whose_message_is_then_lost_is_recovered_by_the_beat_sweep_alone(
    client, clinician, pharmacist, county, catalogue, tmp_path
):
    """As above, but the message is gone too (purged, as a broker without persistence loses it):
    only beat's audit sweep, run by a worker with embedded beat, can find the prescription again."""
    flag = tmp_path / "paused"
    with celery_worker("doomed", env=pause_in_audit(flag)) as worker:
        pk, _ = submitted_and_paused(client, clinician, county, flag, worker)
        kill_hard(worker)
    assert purge_queue() >= 1, "the dead worker's message was there to lose"
    assert Prescription.objects.get(pk=pk).status == "submitted"

    with celery_worker("sweeper", env={**VISIBILITY, **FAST_SWEEP}, beat_schedule=tmp_path / "beat") as sweeper:
        wait_for(audited([pk]), process=sweeper, timeout=30)
        wait_ready(sweeper)  # let the sweeps already queued run too before counting
    assert_audited_once([pk])


def test_messages_queued_when_redis_stops_with_beat_running_are_all_audited_once_after_it_returns(
    client, clinician, pharmacist, county, catalogue, tmp_path, redis_restorer
):
    """Submits queue their audits while no worker consumes; Redis (which keeps nothing on disk)
    stops and loses them; more submits arrive during the outage; beat runs throughout. Once Redis
    is back, beat's sweep re-enqueues every prescription and a worker audits each exactly once."""
    patient = PatientFactory(institution=county["T001"])
    client.force_login(clinician)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    ids = [submit(client, patient, n) for n in range(8)]
    assert broker().llen(queue) >= 8, "the audits wait in Redis"

    with celery_beat(tmp_path / "beat", env=FAST_SWEEP) as beat:
        wait_for(lambda: broker().llen(queue) > 8, process=beat, timeout=15)  # beat's sweep is queued too
        redis.Redis(host="127.0.0.1", port=6379).shutdown(nosave=True)
        wait_for(lambda: not redis_up(), timeout=10)
        ids += [submit(client, patient, n) for n in range(8, 16)]  # stored; their enqueue fails
        time.sleep(2)  # beat's sweeps fail while Redis is away
        assert beat.poll() is None, "beat survives the outage"
        subprocess.run(REDIS_START, check=True)
        wait_for(redis_up, timeout=20)

        assert Prescription.objects.filter(pk__in=ids, status="submitted").count() == 16
        with celery_worker("after-redis", env=VISIBILITY) as worker:
            wait_for(audited(ids), process=worker, timeout=60)
            wait_ready(worker)  # duplicates from several sweeps run before counting
        assert beat.poll() is None
    assert_audited_once(ids)


def postgres_control():
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    return versions[-1].name if versions and shutil.which("pg_ctlcluster") else None


@pytest.mark.skipif(
    connection.vendor != "postgresql" or postgres_control() is None,
    reason="restarts the machine's PostgreSQL; runs where it is the database (CI)",
)
def test_postgresql_restarting_during_submits_gives_503s_never_500s_and_every_201_is_stored(
    live_server, clinician, pharmacist, county, catalogue, caplog, capfd
):
    """Every request gets an answer in time, 201 or 503; no 500, no traceback in any log; each
    thread's failure is collected and asserted here, in the test's own thread."""
    patient = PatientFactory(institution=county["T001"])
    token = api_token_issue(user=clinician, name="fault test")[1]
    body = json.dumps(
        {
            "patient": patient.pk,
            "consult": {"tcm_disease": "感冒"},
            "doses": 3,
            "usage": "每日1剂，水煎分2次温服",
            "delivery": "pickup",
            "items": [{"herb": "桂枝", "grams": 9}, {"herb": "炙甘草", "grams": 6}],
        },
        ensure_ascii=False,
    ).encode()
    host, port = live_server.url.removeprefix("http://").split(":")
    statuses, created, problems = [], [], []
    stop = time.monotonic() + 10
    caplog.set_level(logging.WARNING)

    def client():
        while time.monotonic() < stop:
            conn = http.client.HTTPConnection(host, int(port), timeout=15)
            try:
                conn.request(
                    "POST",
                    "/api/v1/prescriptions/",
                    body,
                    {"Content-Type": "application/json", "Authorization": f"Token {token}"},
                )
                response = conn.getresponse()
                payload = response.read()
                statuses.append(response.status)
                if response.status == 201:
                    created.append(json.loads(payload)["id"])
                if b"Traceback" in payload:
                    problems.append(f"a traceback in a {response.status} answer: {payload[:2000]!r}")
            except Exception as exc:  # noqa: BLE001 - every failure is reported by the main thread
                problems.append(f"no answer within 15 s: {exc!r}")
            finally:
                conn.close()

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    version = postgres_control()
    try:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=60
        )
    finally:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            timeout=60,
            capture_output=True,
        )
        for thread in threads:
            thread.join(timeout=30)
        connection.close()  # this process's connection died with the restart

    assert not any(thread.is_alive() for thread in threads), "a client thread hangs"
    assert not problems, problems
    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.exc_text]
    assert not tracebacks, tracebacks
    assert "Traceback" not in capfd.readouterr().err
    assert 500 not in statuses
    assert set(statuses) <= {201, 503}, statuses
    assert 503 in statuses, "the restart happened while requests were running"
    assert statuses[-1] == 201, "submits succeed again once PostgreSQL is back"
    assert Prescription.objects.filter(pk__in=created).count() == len(created) == len(set(created))
