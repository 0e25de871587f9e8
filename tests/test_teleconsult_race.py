"""Experts claiming one remote consult at the same moment: the consult's row lock serves them one
after the other, so exactly one claim is recorded and every other expert is told who holds it
(PostgreSQL: SQLite takes a lock on the whole database and has no row locks to test)."""

import threading

import pytest
from django.db import connection

from accounts.roles import Role
from core.exceptions import Conflict
from teleconsult.models import ConsultEvent, RemoteConsult
from teleconsult.services import remote_consult_claim, remote_consult_request

from .factories import PatientFactory, UserFactory

RACERS = 6

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_consult_record_exactly_one(county):
    doctor = UserFactory(institution=county["V001"], roles=[Role.CLINICIAN])
    experts = [UserFactory(institution=county["H001"], roles=[Role.CLINICIAN]) for _ in range(RACERS)]
    patient = PatientFactory(institution=county["V001"])
    consult, _ = remote_consult_request(actor=doctor, patient_id=patient.pk, values={"chief_complaint": "胃脘痛"})
    barrier = threading.Barrier(RACERS)
    won, refused, errors = [], [], []

    def claim(expert):
        try:
            barrier.wait(timeout=30)
            remote_consult_claim(actor=expert, consult=RemoteConsult.objects.get(pk=consult.pk))
            won.append(expert.pk)
        except Conflict as exc:
            refused.append(exc.message)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(expert,)) for expert in experts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(won) == 1 and len(refused) == RACERS - 1
    holder = RemoteConsult.objects.select_related("claimed_by").get(pk=consult.pk)
    assert holder.claimed_by_id == won[0]
    assert all(str(holder.claimed_by) in message for message in refused), refused
    assert list(ConsultEvent.objects.filter(consult=consult).values_list("step", flat=True)) == ["requested", "claimed"]
