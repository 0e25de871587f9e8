"""Prescription numbers stay unique when many submits race (run on PostgreSQL in CI)."""

import threading

import pytest
from django.db import connection

from prescriptions.models import Prescription
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .factories import PatientFactory

RACERS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submits_get_fifty_distinct_numbers(clinician, county, catalogue, monkeypatch):
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    patient = PatientFactory(institution=county["T001"])
    barrier = threading.Barrier(RACERS)
    errors = []

    def submit(n):
        try:
            barrier.wait(timeout=30)
            prescription_submit(
                actor=clinician,
                patient=patient,
                form=PrescriptionForm.of(
                    {
                        "consult": {"tcm_disease": "感冒"},
                        "doses": 3,
                        "usage": "每日1剂，水煎分2次温服",
                        "delivery": "pickup",
                        "items": [{"herb": "桂枝", "grams": 9}, {"herb": "炙甘草", "grams": 6}],
                        "idempotency_key": f"race-{n}",
                    }
                ),
            )
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    numbers = list(Prescription.objects.values_list("number", flat=True))
    assert len(numbers) == RACERS
    assert len(set(numbers)) == RACERS
    sequence = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    assert sequence == list(range(1, RACERS + 1)), "numbers are consecutive, none lost or doubled"
