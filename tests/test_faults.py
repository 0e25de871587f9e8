"""Faults against the real services (CI runs them with Redis as the broker): nothing submitted is
lost when Redis stops or a worker is killed, and each prescription is audited exactly once.

The services are stopped and started with the commands the machine documents, and restored at
the end of each test."""

import http.client
import json
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from audit.models import AuditRun
from audit.tasks import sweep_unaudited
from prescriptions.models import Prescription, TraceEvent

from .factories import PatientFactory
from .workers import celery_worker, kill_hard, wait_for

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

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://127.0.0.1:6379"),
        reason="fault tests stop the machine's Redis; they run where it is the broker (CI)",
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


def assert_audited_once(ids):
    assert AuditRun.objects.filter(prescription_id__in=ids).count() == len(ids)
    assert TraceEvent.objects.filter(prescription_id__in=ids, stage="ai_audited").count() == len(ids)


def test_prescriptions_submitted_while_redis_is_down_are_all_stored_and_audited_once_it_returns(
    client, clinician, pharmacist, county, catalogue, redis_restorer
):
    patient = PatientFactory(institution=county["T001"])
    client.force_login(clinician)
    redis.Redis(host="127.0.0.1", port=6379).shutdown(nosave=True)
    wait_for(lambda: not redis_up(), timeout=10)

    ids = [submit(client, patient, n) for n in range(100)]

    assert Prescription.objects.filter(pk__in=ids, status="submitted").count() == 100
    subprocess.run(REDIS_START, check=True)
    wait_for(redis_up, timeout=20)
    with celery_worker("after-redis") as worker:
        sweep_unaudited(older_than_seconds=0)  # what beat does every 30 s
        wait_for(
            lambda: not Prescription.objects.filter(pk__in=ids, status="submitted").exists(),
            process=worker,
            timeout=120,
        )
    assert_audited_once(ids)


def test_a_worker_killed_with_sigkill_mid_work_loses_nothing_and_audits_each_prescription_once(
    client, clinician, pharmacist, county, catalogue
):
    patient = PatientFactory(institution=county["T001"])
    client.force_login(clinician)
    ids = []
    for n in range(3):
        with celery_worker(f"doomed-{n}") as worker:
            ids.append(submit(client, patient, n))
            time.sleep(random.uniform(0, 0.3))  # somewhere before, during or after the audit
            kill_hard(worker)
    with celery_worker("survivor") as worker:
        sweep_unaudited(older_than_seconds=0)
        wait_for(
            lambda: not Prescription.objects.filter(pk__in=ids, status="submitted").exists(),
            process=worker,
            timeout=120,
        )
    assert_audited_once(ids)


def postgres_control():
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    return versions[-1].name if versions and shutil.which("pg_ctlcluster") else None


@pytest.mark.skipif(
    connection.vendor != "postgresql" or postgres_control() is None,
    reason="restarts the machine's PostgreSQL; runs where it is the database (CI)",
)
def test_postgresql_restarting_during_submits_gives_503s_never_500s_and_every_201_is_stored(
    live_server, clinician, pharmacist, county, catalogue
):
    patient = PatientFactory(institution=county["T001"])
    token = Token.objects.create(user=clinician).key
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
    statuses, created, stop = [], [], time.monotonic() + 14

    def client():
        while time.monotonic() < stop:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                conn.request(
                    "POST",
                    "/api/v1/prescriptions/",
                    body,
                    {"Content-Type": "application/json", "Authorization": f"Token {token}"},
                )
                response = conn.getresponse()
                payload = response.read()
            except OSError:
                statuses.append("no answer")
                continue
            finally:
                conn.close()
            statuses.append(response.status)
            if response.status == 201:
                created.append(json.loads(payload)["id"])
            assert b"Traceback" not in payload

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(3)
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
            thread.join(timeout=60)
        connection.close()  # this process's connection died with the restart

    assert 500 not in statuses
    assert set(statuses) <= {201, 503, "no answer"}, statuses
    assert 503 in statuses or "no answer" in statuses, "the restart happened while requests were running"
    assert statuses[-1] == 201, "submits succeed again once PostgreSQL is back"
    assert Prescription.objects.filter(pk__in=created).count() == len(created) == len(set(created))
