"""Two administrators booking one expert at the same moment: the expert's row lock serves them one
after the other, so only one booking of overlapping times is saved (PostgreSQL: SQLite takes a
lock on the whole database and has no row locks to test)."""

import threading
from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.roles import Role
from outreach.models import ClinicSession
from outreach.services import session_save

from .factories import UserFactory
from .test_outreach import DAY

RACERS = 8

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_expert_at_overlapping_times_save_exactly_one(county, county_admin):
    expert = UserFactory(institution=county["H001"], roles=[Role.CLINICIAN])
    places = [county["T001"], county["T003"]]
    barrier = threading.Barrier(RACERS)
    refused, errors = [], []

    def book(n):
        try:
            barrier.wait(timeout=30)
            session_save(
                actor=county_admin,
                expert=expert,
                institution=places[n % 2],
                date=DAY,
                starts_at=time(8, n),
                ends_at=time(11, 30),
            )
        except ValidationError as exc:
            refused.append(exc.message_dict)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert ClinicSession.objects.count() == 1
    assert len(refused) == RACERS - 1 and all(set(r) == {"starts_at"} for r in refused)
