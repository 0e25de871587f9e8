"""Two submits of the same body with the same Idempotency-Key at the same moment (a retry racing
its original) make one prescription and leave nothing of the other behind. Real concurrency needs
PostgreSQL (CI); SQLite lets one writer at a time, so the race cannot happen there."""

import threading

import pytest
from django.db import connection

from patients.models import Consult
from prescriptions.models import Milestone, Prescription, PrescriptionItem, PrescriptionSequence, TraceEvent
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .factories import PatientFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite lets one writer at a time: two submits cannot race"
)
BODY = {
    "consult": {"tcm_disease": "感冒"},
    "doses": 3,
    "usage": "每日1剂，水煎分2次温服",
    "delivery": "pickup",
    "items": [{"herb": "桂枝", "grams": 9}, {"herb": "炙甘草", "grams": 6}],
    "idempotency_key": "same-key-twice",
}


def race(twins: int, run) -> list:
    """Runs `run()` in `twins` threads released together; returns what each returned or raised."""
    barrier = threading.Barrier(twins)
    results = []

    def one():
        try:
            barrier.wait(timeout=30)
            results.append(run())
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(twins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a submit never finished"
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_submits_with_one_idempotency_key_make_one_prescription_and_no_orphan_rows(
    attempt, clinician, county, catalogue, monkeypatch
):
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    patient = PatientFactory(institution=county["T001"])

    results = race(2, lambda: prescription_submit(actor=clinician, patient=patient, form=PrescriptionForm.of(BODY)))

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sorted(created for _prescription, created in results) == [False, True]
    assert len({prescription.pk for prescription, _created in results}) == 1
    prescription = Prescription.objects.get()
    assert Consult.objects.filter(patient=patient).count() == 1, "the twin left an orphan consult"
    assert Consult.objects.get(patient=patient).pk == prescription.consult_id
    assert PrescriptionItem.objects.filter(prescription=prescription).count() == 2
    assert PrescriptionItem.objects.exclude(prescription=prescription).count() == 0
    assert list(TraceEvent.objects.values_list("prescription_id", "stage")) == [(prescription.pk, "submitted")]
    assert list(Milestone.objects.values_list("prescription_id", flat=True)) == [prescription.pk]
    assert prescription.number.endswith("-0001")
    assert PrescriptionSequence.objects.get().last == 1, "the twin used up a prescription number"
