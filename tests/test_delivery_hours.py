"""A failed delivery is tried again inside its delivery station's working hours (local time,
Asia/Shanghai), set per station in the admin, 08:00–18:00 when none are set."""

from datetime import datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from delivery.models import DeliveryHours, DeliveryStop
from delivery.services import record_shipped, retry_time, run_create, stop_failed
from prescriptions.models import Prescription
from prescriptions.workflow import Stage

from .factories import UserFactory
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(2026, 3, day, hour, minute))


@pytest.fixture
def hours(county):
    return DeliveryHours.objects.create(station=county["D001"], opens_at=time(8, 30), closes_at=time(17, 30))


@pytest.mark.parametrize(
    ("failed_at", "retried_at"),
    [
        (local(10, 22), local(11, 8, 30)),  # four hours later is 02:00: the next opening
        (local(10, 2), local(10, 8, 30)),  # 06:00 is before opening: that morning's opening
        (local(10, 15), local(11, 8, 30)),  # 19:00 is after closing: the next morning
        (local(10, 9), local(10, 13)),  # 13:00 is inside the hours: four hours later
        (local(10, 13, 29), local(10, 17, 29)),  # a minute before closing still counts
    ],
)
def test_a_failed_stop_is_tried_again_four_hours_later_or_at_the_stations_next_opening(
    hours, county, failed_at, retried_at
):
    assert retry_time(county["D001"].pk, failed_at=failed_at) == retried_at


def test_a_station_without_hours_set_delivers_from_8_to_18(county):
    assert retry_time(county["D001"].pk, failed_at=local(10, 22)) == local(11, 8)
    assert retry_time(county["D001"].pk, failed_at=local(10, 14)) == local(11, 8), "18:00 is closed"


def test_a_retry_time_asked_for_outside_the_hours_moves_to_the_next_opening(hours, county):
    assert retry_time(county["D001"].pk, failed_at=local(10, 12), requested=local(10, 20)) == local(11, 8, 30)


def test_a_delivery_that_fails_at_22_00_is_rescheduled_inside_the_stations_hours_not_at_night(
    hours, courier, clinician, catalogue, monkeypatch
):
    prescription = prescription_at(clinician, Stage.PACKAGED)
    run_create(courier=courier, prescriptions=[prescription], area="白塔乡")
    record_shipped(actor=courier, prescription=prescription, data={}, files={})
    monkeypatch.setattr(timezone, "now", lambda: local(10, 22))

    stop = stop_failed(actor=courier, prescription=Prescription.objects.get(pk=prescription.pk), reason="家中无人")

    retry = timezone.localtime(DeliveryStop.objects.get(pk=stop.pk).expected_at)
    assert retry == local(11, 8, 30), retry
    assert str(retry.tzinfo) == "Asia/Shanghai"


def test_a_station_cannot_close_before_it_opens(county):
    with pytest.raises(ValidationError):
        DeliveryHours(station=county["D001"], opens_at=time(18), closes_at=time(8)).full_clean()


def test_a_superuser_sets_a_delivery_stations_hours_in_the_admin(client, county):
    root = UserFactory(username="root", institution=county["H001"], is_superuser=True, is_staff=True)
    client.force_login(root)

    response = client.post(
        "/admin/delivery/deliveryhours/add/",
        {"station": county["D001"].pk, "opens_at": "07:30", "closes_at": "19:00"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert retry_time(county["D001"].pk, failed_at=local(10, 16)) == local(11, 7, 30)
