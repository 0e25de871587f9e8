"""Delivery: a courier's run of packaged prescriptions, setting off, delivering (with who received
it), a failed stop, the courier's page; pickup at the clinic with the patient's code. The
prescribing-to-handover times are the stages dashboard's (tests/test_dashboards_stages.py)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.roles import Role
from delivery.models import DeliveryRun, DeliveryStop, StopStatus
from delivery.services import pickup_code_for, run_create, stop_failed
from prescriptions.models import Prescription, TraceEvent
from prescriptions.workflow import DeliveryMode, Stage

from .factories import UserFactory
from .test_tracking import ADDRESS, prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")


@pytest.fixture
def second_courier(county):
    return UserFactory(username="courier2", name="赵师傅", institution=county["D001"], roles=[Role.COURIER])


@pytest.fixture
def packaged(clinician, catalogue):
    """Two centre-decocted prescriptions packaged for delivery to an address."""
    return [prescription_at(clinician, Stage.PACKAGED) for _ in range(2)]


def fresh(prescription) -> Prescription:
    return Prescription.objects.get(pk=prescription.pk)


def events_url(prescription) -> str:
    return f"/api/v1/prescriptions/{prescription.pk}/events/"


def step(client, user, prescription, stage, **data):
    client.force_login(user)
    return client.post(events_url(prescription), {"stage": stage, **data}, content_type="application/json")


def ok(response, status=201) -> dict:
    assert response.status_code == status, response.content.decode()
    return response.json()


# --- Runs ------------------------------------------------------------------------------------------------


def test_a_run_groups_packaged_address_deliveries_in_the_order_given(courier, packaged):
    run = run_create(courier=courier, prescriptions=packaged, area=" 白塔乡 ")

    assert (run.courier, run.station.code, run.area, run.is_open) == (courier, "D001", "白塔乡", True)
    stops = list(run.stops.order_by("position"))
    assert [(s.position, s.prescription_id, s.status) for s in stops] == [
        (1, packaged[0].pk, StopStatus.WAITING),
        (2, packaged[1].pk, StopStatus.WAITING),
    ]


def test_a_run_refuses_a_pickup_prescription_and_one_not_yet_packaged_and_writes_nothing(courier, packaged, clinician):
    pickup = prescription_at(clinician, Stage.PACKAGED, delivery=DeliveryMode.PICKUP)
    decocting = prescription_at(clinician, Stage.DECOCTING)

    for wrong in (pickup, decocting):
        with pytest.raises(ValidationError) as refused:
            run_create(courier=courier, prescriptions=[packaged[0], wrong], area="白塔乡")
        assert wrong.display_number in refused.value.message_dict["prescriptions"][0]

    assert not DeliveryRun.objects.exists() and not DeliveryStop.objects.exists()


def test_a_prescription_already_on_an_open_run_cannot_join_a_second_one(courier, second_courier, packaged):
    run_create(courier=courier, prescriptions=packaged[:1], area="白塔乡")

    with pytest.raises(ValidationError):
        run_create(courier=second_courier, prescriptions=packaged, area="白塔乡")

    assert DeliveryStop.objects.filter(prescription=packaged[0]).count() == 1


def test_only_a_courier_of_a_delivery_station_creates_a_run(dispenser, packaged):
    with pytest.raises(PermissionDenied):
        run_create(courier=dispenser, prescriptions=packaged, area="白塔乡")


# --- Shipping and delivering through the events API -------------------------------------------------------


def test_the_courier_whose_open_run_holds_it_sets_off_with_an_expected_time(api, courier, packaged):
    run = run_create(courier=courier, prescriptions=packaged, area="白塔乡")

    event = ok(step(api, courier, packaged[0], Stage.SHIPPED))

    assert event["stage"] == Stage.SHIPPED
    assert event["data"]["expected_at"] and event["data"]["run"] == run.pk
    assert fresh(packaged[0]).status == Stage.SHIPPED
    stop = DeliveryStop.objects.get(prescription=packaged[0])
    assert stop.status == StopStatus.SHIPPED
    assert stop.expected_at.isoformat() == event["data"]["expected_at"]


def test_another_courier_of_the_same_station_cannot_set_off_with_a_prescription_on_someone_elses_run(
    api, courier, second_courier, packaged
):
    run_create(courier=courier, prescriptions=packaged, area="白塔乡")

    response = step(api, second_courier, packaged[0], Stage.SHIPPED)

    assert response.status_code == 403, response.content.decode()
    assert fresh(packaged[0]).status == Stage.PACKAGED
    assert not TraceEvent.objects.filter(prescription=packaged[0], stage=Stage.SHIPPED).exists()


def test_a_courier_cannot_set_off_with_a_prescription_on_no_run(api, courier, packaged):
    response = step(api, courier, packaged[0], Stage.SHIPPED)

    assert response.status_code == 403
    assert fresh(packaged[0]).status == Stage.PACKAGED


def test_delivering_needs_who_received_it(api, courier, packaged):
    run_create(courier=courier, prescriptions=packaged, area="白塔乡")
    ok(step(api, courier, packaged[0], Stage.SHIPPED))

    refused = step(api, courier, packaged[0], Stage.DELIVERED)

    assert refused.status_code == 400
    assert "receiver_name" in refused.json()["errors"]
    assert fresh(packaged[0]).status == Stage.SHIPPED

    event = ok(step(api, courier, packaged[0], Stage.DELIVERED, receiver_name="张小三本人"))
    assert event["data"]["receiver_name"] == "张小三本人"
    assert fresh(packaged[0]).status == Stage.DELIVERED
    stop = DeliveryStop.objects.get(prescription=packaged[0])
    assert (stop.status, stop.receiver_name) == (StopStatus.DELIVERED, "张小三本人")


def test_the_run_closes_when_its_last_stop_is_delivered(api, courier, packaged):
    run = run_create(courier=courier, prescriptions=packaged, area="白塔乡")
    for prescription in packaged:
        ok(step(api, courier, prescription, Stage.SHIPPED))

    ok(step(api, courier, packaged[0], Stage.DELIVERED, receiver_name="家属"))
    run.refresh_from_db()
    assert run.is_open and run.closed_at is None

    ok(step(api, courier, packaged[1], Stage.DELIVERED, receiver_name="本人"))
    run.refresh_from_db()
    assert not run.is_open and run.closed_at is not None


def test_a_failed_stop_records_the_reason_and_the_prescription_stays_shipped(api, courier, packaged):
    run = run_create(courier=courier, prescriptions=packaged[:1], area="白塔乡")
    ok(step(api, courier, packaged[0], Stage.SHIPPED))

    with pytest.raises(ValidationError):
        stop_failed(actor=courier, prescription=fresh(packaged[0]), reason="  ")
    stop = stop_failed(actor=courier, prescription=fresh(packaged[0]), reason="家中无人，电话未接")

    assert (stop.status, stop.failure_reason) == (StopStatus.FAILED, "家中无人，电话未接")
    assert stop.expected_at > timezone.now(), "the stop is rescheduled"
    assert fresh(packaged[0]).status == Stage.SHIPPED
    run.refresh_from_db()
    assert run.is_open


def test_another_courier_cannot_record_a_failed_stop_on_someone_elses_run(api, courier, second_courier, packaged):
    run_create(courier=courier, prescriptions=packaged[:1], area="白塔乡")
    ok(step(api, courier, packaged[0], Stage.SHIPPED))

    with pytest.raises(PermissionDenied):
        stop_failed(actor=second_courier, prescription=fresh(packaged[0]), reason="家中无人")

    assert DeliveryStop.objects.get(prescription=packaged[0]).status == StopStatus.SHIPPED


# --- The courier's page ----------------------------------------------------------------------------------


def test_the_courier_page_shows_address_and_mobile_only_for_stops_on_the_couriers_own_open_run(
    client, courier, second_courier, packaged
):
    run_create(courier=courier, prescriptions=packaged, area="白塔乡")
    patient = packaged[0].patient

    client.force_login(courier)
    own = client.get("/delivery/")
    client.force_login(second_courier)
    other = client.get("/delivery/")

    assert own.status_code == other.status_code == 200
    assert ADDRESS in own.content.decode() and patient.mobile in own.content.decode()
    for private in (ADDRESS, patient.mobile, patient.name):
        assert private not in other.content.decode()


def test_the_courier_page_no_longer_shows_address_and_mobile_once_the_run_is_closed(api, client, courier, packaged):
    run_create(courier=courier, prescriptions=packaged[:1], area="白塔乡")
    ok(step(api, courier, packaged[0], Stage.SHIPPED))
    ok(step(api, courier, packaged[0], Stage.DELIVERED, receiver_name="本人"))

    client.force_login(courier)
    page = client.get("/delivery/").content.decode()

    assert ADDRESS not in page and packaged[0].patient.mobile not in page


# --- Pickup at the clinic ----------------------------------------------------------------------------------


@pytest.fixture
def for_pickup(clinician, catalogue):
    return prescription_at(clinician, Stage.PACKAGED, delivery=DeliveryMode.PICKUP)


def test_a_wrong_pickup_code_is_refused_at_code(api, dispenser, for_pickup):
    right = pickup_code_for(for_pickup).code
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    response = step(api, dispenser, for_pickup, Stage.PICKED_UP, code=wrong)

    assert response.status_code == 400
    assert "code" in response.json()["errors"]
    assert fresh(for_pickup).status == Stage.PACKAGED


def test_the_right_pickup_code_hands_the_medicine_over(api, dispenser, for_pickup):
    code = pickup_code_for(for_pickup).code

    event = ok(step(api, dispenser, for_pickup, Stage.PICKED_UP, code=code))

    assert event["stage"] == Stage.PICKED_UP and event["data"]["institution"] == "P001"
    assert fresh(for_pickup).status == Stage.PICKED_UP


def test_a_courier_cannot_hand_out_a_pickup_prescription_even_with_the_right_code(api, courier, for_pickup):
    code = pickup_code_for(for_pickup).code

    response = step(api, courier, for_pickup, Stage.PICKED_UP, code=code)

    assert response.status_code == 403
    assert fresh(for_pickup).status == Stage.PACKAGED


def test_a_pickup_prescription_cannot_be_shipped(api, courier, for_pickup):
    response = step(api, courier, for_pickup, Stage.SHIPPED)

    assert response.status_code == 409
    assert fresh(for_pickup).status == Stage.PACKAGED
