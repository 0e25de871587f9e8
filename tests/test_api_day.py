"""A prescription's day over the API alone, as other systems drive it: the clinician's HIS
submits, the pharmacist approves, the stations' tablets weigh, re-check, soak, decoct and pack,
the courier's phone takes it on a run and delivers it. Every call carries only
`Authorization: Token <secret>` from POST /api/v1/auth/token/: no session, no CSRF token (the
client enforces CSRF checks, so a call that fell back to a session would be refused). Then the
scope of the stations' and the courier's endpoints, and what the OpenAPI schema documents."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from audit.services import audit_run
from catalogue.services import stock_receive
from delivery.models import DeliveryStop, StopStatus
from pipeline.event_bodies import BODIES
from pipeline.steps import STEPS
from prescriptions.models import Prescription, TraceEvent
from prescriptions.workflow import Stage

from .factories import InstitutionFactory, UserFactory
from .test_stations_api import CENTRE_TRACE, noise_jpeg
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's
ADDRESS = "白塔乡白塔村3组12号"


def app(user, name="app") -> Client:
    """A client of another system: a token obtained with the user's password, CSRF enforced, no
    session cookie ever."""
    obtained = Client(enforce_csrf_checks=True).post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, "name": name}
    )
    assert obtained.status_code == 200, obtained.content
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Token {obtained.json()['token']}"})


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.content.decode()
    assert "sessionid" not in response.cookies
    return response.json()


def post(client, url, data, status=200) -> dict:
    return ok(client.post(url, data, content_type="application/json"), status)


@pytest.fixture
def stocked(county, catalogue, dispenser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stock(county, catalogue, dispenser, ("党参", "白术"))


def stock(county, catalogue, dispenser, names) -> None:
    """1,000 g of each herb of `names` at the shared pharmacy, expiring in 400 days."""
    for name in names:
        stock_receive(
            pharmacy=county["P001"],
            herb=catalogue.get(name=name),
            batch_no=f"{name}-1",
            expiry_date=timezone.localdate() + timedelta(days=400),
            quantity_g=Decimal(1000),
            actor=dispenser,
        )


def submitted_by_his(his) -> int:
    body = {
        "patient": {"name": "王秀英", "sex": "F", "date_of_birth": "1970-03-08", "mobile": "13800138000"},
        "consult": {"tcm_disease": "胃痛"},
        "items": [{"herb": "党参", "grams": "10"}, {"herb": "白术", "grams": "10"}],
        "doses": 3,
        "usage": "每日1剂，水煎分2次温服",
        "decoction": "center",
        "delivery": "address",
        "delivery_address": ADDRESS,
    }
    return post(his, "/api/v1/prescriptions/", body, status=201)["id"]


def events(pk) -> str:
    return f"/api/v1/prescriptions/{pk}/events/"


def test_a_prescription_goes_from_the_his_to_the_patients_door_with_api_tokens_only(
    clinician, pharmacist, dispenser, decoctor, courier, stocked
):
    his, pharmacy_app, dispensing_tablet = app(clinician, "HIS"), app(pharmacist), app(dispenser)
    decoction_tablet, phone = app(decoctor), app(courier)
    pk = submitted_by_his(his)
    audit_run(prescription_id=pk)  # the machine audit, the worker's job

    assert pk in [row["id"] for row in ok(pharmacy_app.get("/api/v1/audit/queue/"))["results"]]
    assert set(post(pharmacy_app, f"/api/v1/audit/{pk}/claim/", {})) == {"claimed_by", "expires_at"}
    decided = post(pharmacy_app, f"/api/v1/audit/{pk}/decision/", {"decision": "approve"})
    assert decided == {"id": pk, "decision": "approve", "status": Stage.APPROVED}

    assert pk in [row["id"] for row in ok(dispensing_tablet.get("/api/v1/stations/dispensing/queue/"))["results"]]
    sheet = ok(dispensing_tablet.get(f"/api/v1/stations/dispensing/prescriptions/{pk}/"))
    assert [(row["herb"], row["total_grams"]) for row in sheet["items"]] == [("党参", "30.00"), ("白术", "30.00")]
    weights = json.dumps([{"grams": row["total_grams"]} for row in sheet["items"]])
    photo = SimpleUploadedFile("herbs.jpg", noise_jpeg(), content_type="image/jpeg")
    ok(dispensing_tablet.post(events(pk), {"stage": Stage.DISPENSED, "weights": weights, "photo": photo}), 201)

    recheck = ok(pharmacy_app.get(f"/api/v1/stations/recheck/prescriptions/{pk}/"))
    assert [line["actual_g"] for line in recheck["dispensed"]["weights"]] == ["30.00", "30.00"]
    post(pharmacy_app, events(pk), {"stage": Stage.RECHECKED}, status=201)

    post(decoction_tablet, events(pk), {"stage": Stage.SOAKING, "tank": "T-01"}, status=201)
    refused = post(decoction_tablet, events(pk), {"stage": Stage.DECOCTING, "machine": "M-02"}, status=400)
    assert "ack_reason" in refused["errors"]  # soaked for 0 minutes, under the SOP's 30
    decocting = {"stage": Stage.DECOCTING, "machine": "M-02", "ack_reason": "急煎，医嘱缩短浸泡"}
    post(decoction_tablet, events(pk), decocting, status=201)
    packaged = {"stage": Stage.PACKAGED, "bags": 6, "ml_per_bag": 200, "ack_reason": "急煎"}
    post(decoction_tablet, events(pk), packaged, status=201)

    assert pk in [row["id"] for row in ok(phone.get("/api/v1/delivery/waiting/"))["results"]]
    run = post(phone, "/api/v1/delivery/runs/", {"prescriptions": [pk], "area": "白塔乡"}, status=201)
    (stop,) = run["stops"]
    assert stop["contact"] == {"name": "王秀英", "mobile": "13800138000", "address": ADDRESS}
    assert post(phone, f"/api/v1/delivery/stops/{stop['id']}/", {"action": Stage.SHIPPED})["status"] == "shipped"
    delivered = post(phone, f"/api/v1/delivery/stops/{stop['id']}/", {"action": "delivered", "receiver_name": "本人"})
    assert (delivered["status"], delivered["prescription_status"]) == (StopStatus.DELIVERED, Stage.DELIVERED)

    trace = [event["stage"] for event in ok(his.get(f"/api/v1/prescriptions/{pk}/"))["events"]]
    assert trace == [*CENTRE_TRACE, Stage.SHIPPED, Stage.DELIVERED]
    actors = dict(TraceEvent.objects.filter(prescription_id=pk).values_list("stage", "actor__username"))
    assert actors[Stage.DISPENSED] == "dispenser" and actors[Stage.DELIVERED] == "courier"


def test_a_courier_adds_a_stop_to_their_run_and_records_a_failed_delivery_with_its_reason(clinician, courier):
    first, second = (prescription_at(clinician, Stage.PACKAGED) for _ in range(2))
    phone = app(courier)
    run = post(phone, "/api/v1/delivery/runs/", {"prescriptions": [first.pk], "area": "白塔乡"}, status=201)

    grown = post(phone, f"/api/v1/delivery/runs/{run['id']}/stops/", {"prescriptions": [second.pk]}, status=201)
    assert [(s["position"], s["prescription"]) for s in grown["stops"]] == [(1, first.pk), (2, second.pk)]
    stop = grown["stops"][1]["id"]
    post(phone, f"/api/v1/delivery/stops/{stop}/", {"action": Stage.SHIPPED})
    no_reason = post(phone, f"/api/v1/delivery/stops/{stop}/", {"action": "failed"}, status=400)
    assert "reason" in no_reason["errors"]
    failed = post(phone, f"/api/v1/delivery/stops/{stop}/", {"action": "failed", "reason": "家中无人"})

    assert (failed["status"], failed["failure_reason"]) == (StopStatus.FAILED, "家中无人")
    assert failed["prescription_status"] == Stage.SHIPPED and failed["expected_at"]
    assert TraceEvent.objects.filter(prescription=second, stage=Stage.SHIPPED, actor=courier).exists()
    again = post(phone, "/api/v1/delivery/runs/", {"prescriptions": [first.pk]}, status=400)  # on the open run
    assert first.display_number in again["errors"]["prescriptions"][0]
    assert DeliveryStop.objects.filter(prescription=first).count() == 1


def test_station_staff_list_only_the_queues_of_their_own_stations(clinician, dispenser, decoctor, pharmacist):
    waiting = prescription_at(clinician, Stage.APPROVED)
    soaked = prescription_at(clinician, Stage.SOAKING)
    dispensing_tablet, decoction_tablet = app(dispenser), app(decoctor)

    stations = {row["code"]: row["waiting"] for row in ok(dispensing_tablet.get("/api/v1/stations/"))}
    assert stations == {"dispensing": 1}
    assert {row["code"] for row in ok(decoction_tablet.get("/api/v1/stations/"))} == {
        "soaking",
        "decocting",
        "packaging",
    }
    queue = ok(decoction_tablet.get("/api/v1/stations/decocting/queue/"))["results"]
    assert [row["id"] for row in queue] == [soaked.pk] and queue[0]["patient"] == soaked.patient.masked_name
    assert dispensing_tablet.get("/api/v1/stations/recheck/queue/").status_code == 403
    assert dispensing_tablet.get("/api/v1/stations/no-such-station/queue/").status_code == 404
    assert [row["id"] for row in ok(app(pharmacist).get("/api/v1/stations/recheck/queue/"))["results"]] == []
    assert waiting.pk in [
        row["id"] for row in ok(dispensing_tablet.get("/api/v1/stations/dispensing/queue/"))["results"]
    ]


def test_a_station_sheet_is_read_only_while_the_prescription_waits_there_and_never_outside_the_county(
    clinician, outsider, dispenser, courier, county
):
    waiting = prescription_at(clinician, Stage.APPROVED)
    neighbour = UserFactory(
        username="neighbour",
        institution=InstitutionFactory(code="P201", parent=InstitutionFactory(code="H201", parent=None)),
        roles=[Role.DISPENSER],
    )
    missing = Prescription.objects.order_by("-pk").first().pk + 1000
    sheet = f"/api/v1/stations/dispensing/prescriptions/{waiting.pk}/"

    assert ok(app(dispenser).get(sheet))["number"] == waiting.display_number
    assert "mobile" not in str(ok(app(dispenser).get(sheet)))
    outside = app(neighbour)
    assert outside.get(sheet).status_code == 404
    assert outside.get(f"/api/v1/stations/dispensing/prescriptions/{missing}/").status_code == 404
    assert app(dispenser).get(f"/api/v1/stations/dispensing/prescriptions/{missing}/").status_code == 404
    assert app(outsider).get(sheet).status_code == 403  # no station capability: refused before any lookup
    assert app(courier).get(sheet).status_code == 403
    Prescription.objects.filter(pk=waiting.pk).update(status=Stage.DISPENSED)
    assert app(dispenser).get(sheet).status_code == 404  # no longer waiting at dispensing


def test_a_courier_sees_the_runs_of_their_station_but_contacts_and_stops_only_on_their_own(clinician, courier, county):
    parcel, other = (prescription_at(clinician, Stage.PACKAGED) for _ in range(2))
    colleague = UserFactory(username="courier2", institution=county["D001"], roles=[Role.COURIER])
    elsewhere = UserFactory(
        username="courier3", institution=InstitutionFactory(code="D002", kind="delivery_station"), roles=[Role.COURIER]
    )
    run = post(app(courier), "/api/v1/delivery/runs/", {"prescriptions": [parcel.pk], "area": "白塔乡"}, status=201)
    stop = DeliveryStop.objects.get(prescription=parcel)

    seen = ok(app(colleague).get("/api/v1/delivery/runs/"))["results"]
    assert [r["id"] for r in seen] == [run["id"]] and seen[0]["stops"][0]["contact"] is None
    assert parcel.patient.mobile not in str(seen)
    adding = app(colleague).post(
        f"/api/v1/delivery/runs/{run['id']}/stops/", {"prescriptions": [other.pk]}, content_type="application/json"
    )
    assert adding.status_code == 403
    shipping = {"action": Stage.SHIPPED}
    assert app(colleague).post(f"/api/v1/delivery/stops/{stop.pk}/", shipping).status_code == 404
    assert ok(app(elsewhere).get("/api/v1/delivery/runs/"))["results"] == []
    assert app(elsewhere).post(f"/api/v1/delivery/runs/{run['id']}/stops/", {}).status_code == 404
    assert Prescription.objects.get(pk=parcel.pk).status == Stage.PACKAGED


def test_every_recordable_step_has_its_documented_body():
    assert set(BODIES) == set(STEPS)


def test_the_schema_documents_each_stages_body_the_limits_to_acknowledge_and_the_tracking_endpoint(client):
    schema = client.get("/api/schema/?format=json").json()
    components, paths = schema["components"]["schemas"], schema["paths"]

    body = paths["/api/v1/prescriptions/{id}/events/"]["post"]["requestBody"]["content"]
    # Request bodies have components of their own (COMPONENT_SPLIT_REQUEST): "…Request".
    assert body["application/json"]["schema"]["$ref"] == "#/components/schemas/StationStepRequest"
    assert body["multipart/form-data"]["schema"]["$ref"] == "#/components/schemas/StationStepUploadRequest"
    step = components["StationStepRequest"]
    assert step["discriminator"]["propertyName"] == "stage"
    assert set(step["discriminator"]["mapping"]) == set(STEPS)

    def fields(stage):
        return components[step["discriminator"]["mapping"][stage].rsplit("/", 1)[1]]["properties"]

    assert "weights" in fields(Stage.DISPENSED)
    upload = components["StationStepUploadRequest"]["properties"]
    assert upload["photo"]["format"] == "binary" and {"weights", "receiver_name"} <= set(upload)
    assert "tank" in fields(Stage.SOAKING) and "machine" in fields(Stage.DECOCTING)
    assert {"bags", "ml_per_bag"} <= set(fields(Stage.PACKAGED))
    assert "receiver_name" in fields(Stage.DELIVERED) and "code" in fields(Stage.PICKED_UP)
    assert "reason" in fields(Stage.RECHECK_FAILED)
    assert "soaking" in fields(Stage.DECOCTING)["ack_reason"]["description"]
    assert "ml per bag" in fields(Stage.PACKAGED)["ack_reason"]["description"]
    assert not [
        stage for stage in STEPS if stage not in (Stage.DECOCTING, Stage.PACKAGED) and "ack_reason" in fields(stage)
    ]

    track = paths["/api/v1/track/{token}/"]
    assert set(track) >= {"get", "post"}
    assert track["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Tracking")
    for operation in ("/api/v1/audit/{id}/claim/", "/api/v1/audit/{id}/decision/"):
        answer = paths[operation]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in answer, operation
