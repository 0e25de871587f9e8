"""Real Celery worker processes, on the configured broker (filesystem by default, Redis in CI),
take tasks enqueued by this process and write to the same database."""

import uuid

import pytest

from audit.models import AuditRun
from audit.tasks import sweep_unaudited
from core.models import WorkerHeartbeat
from core.tasks import worker_heartbeat
from prescriptions.models import Prescription, TraceEvent

from .factories import PatientFactory
from .workers import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_process_runs_an_enqueued_task_and_writes_to_the_database():
    token = uuid.uuid4().hex
    with celery_worker("heartbeat") as process:
        worker_heartbeat.delay(token)
        heartbeat = wait_for(lambda: WorkerHeartbeat.objects.filter(token=token).first(), process=process)
    assert heartbeat.worker.startswith("heartbeat-"), "the task must have run in the worker process"


def submit(client, clinician, county):
    patient = PatientFactory(institution=county["T001"])
    client.force_login(clinician)
    response = client.post(
        "/api/v1/prescriptions/",
        {
            "patient": patient.pk,
            "consult": {"tcm_disease": "感冒"},
            "doses": 3,
            "usage": "每日1剂，水煎分2次温服",
            "delivery": "pickup",
            "items": [{"herb": "桂枝", "grams": 9}, {"herb": "白芍", "grams": 9}, {"herb": "炙甘草", "grams": 6}],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_prescription_submitted_through_the_api_is_audited_by_the_running_worker(
    client, clinician, pharmacist, county, catalogue
):
    with celery_worker("audit") as process:
        pk = submit(client, clinician, county)
        wait_for(lambda: Prescription.objects.get(pk=pk).status == "ai_audited", process=process)
    run = AuditRun.objects.get(prescription_id=pk)
    assert run.routed_to == county["H001"]


def test_a_prescription_submitted_while_no_worker_runs_is_audited_once_when_a_worker_starts(
    client, clinician, pharmacist, county, catalogue
):
    pk = submit(client, clinician, county)
    sweep_unaudited(older_than_seconds=0)  # a second message for the same prescription, as after a lost ack
    assert Prescription.objects.get(pk=pk).status == "submitted"

    with celery_worker("late") as process:
        wait_for(lambda: Prescription.objects.get(pk=pk).status == "ai_audited", process=process)
        # Let the worker take the duplicate message too before counting.
        worker_heartbeat.delay("after")
        wait_for(lambda: WorkerHeartbeat.objects.filter(token="after").exists(), process=process)

    assert AuditRun.objects.filter(prescription_id=pk).count() == 1
    assert TraceEvent.objects.filter(prescription_id=pk, stage="ai_audited").count() == 1
