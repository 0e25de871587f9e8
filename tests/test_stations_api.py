"""The station steps through POST /api/v1/prescriptions/{id}/events/: dispensing (weights, stock,
photo), the pharmacist's re-check, soaking, decoction and packaging; steps out of order, people
who may not record a step, repeats, bad photos, toxic-herb signatures and the daily inspection."""

import io
import itertools
import json
import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image

from accounts.models import InstitutionKind
from accounts.roles import Role
from accounts.services import user_set_roles
from audit.models import Decision
from audit.services import audit_decide, audit_run
from catalogue.models import Herb, StockBatch
from catalogue.services import stock_receive
from decoction.models import DispensingRecord, Inspection, InspectionResult, StationPhoto
from decoction.services import RECORDERS, inspection_record, inspections_pick, thumbnail_make
from pipeline.steps import STEPS
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.workflow import TRANSITIONS, Decoction, DeliveryMode, Stage, find_move

from .factories import InstitutionFactory, PatientFactory, UserFactory
from .test_role_table import roles_of

pytestmark = pytest.mark.usefixtures("enqueued")

# 党参 and 白术 give no audit findings; 3 doses of 10 g each is 30 g of each herb to weigh.
PLAIN = [("党参", 10), ("白术", 10)]
# 生半夏 is on the toxic-herb list (医疗用毒性药品管理办法); at 3 g it is only a warning.
TOXIC = [("生半夏", 3), ("党参", 10)]
DOSES = 3
CENTRE_TRACE = [
    Stage.SUBMITTED,
    Stage.AI_AUDITED,
    Stage.APPROVED,
    Stage.DISPENSED,
    Stage.RECHECKED,
    Stage.SOAKING,
    Stage.DECOCTING,
    Stage.PACKAGED,
]
SELF_TRACE = [Stage.SUBMITTED, Stage.AI_AUDITED, Stage.APPROVED, Stage.DISPENSED, Stage.RECHECKED, Stage.PACKAGED]
NOT_A_PHOTO = "This file is not a readable JPEG, PNG or WebP photo."
TOO_MANY_PIXELS = "The photo has too many pixels."


# --- Setup --------------------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def rechecker(county):
    """A second pharmacist, at the shared pharmacy itself."""
    return UserFactory(username="pharmacist2", name="王药师", institution=county["P001"], roles=[Role.PHARMACIST])


@pytest.fixture
def stock(catalogue, county, dispenser):
    """Stock at P001 for every herb used here; 党参 in two batches, the earlier expiring one short."""
    soon, later = timezone.localdate() + timedelta(days=60), timezone.localdate() + timedelta(days=400)
    receipts = [("党参", "DS-EARLY", soon, 20), ("党参", "DS-LATE", later, 1000), ("白术", "BZ-1", later, 1000)]
    receipts.append(("生半夏", "BX-1", later, 1000))
    for name, batch_no, expiry, grams in receipts:
        stock_receive(
            pharmacy=county["P001"],
            herb=catalogue.get(name=name),
            batch_no=batch_no,
            expiry_date=expiry,
            quantity_g=Decimal(grams),
            actor=dispenser,
        )
    return county["P001"]


@pytest.fixture
def stations(stock, media, clinician, pharmacist, rechecker, dispenser, decoctor):
    """Everything a walk through the stations needs: stock, a media folder and the people."""
    return {
        "clinician": clinician,
        "pharmacist": pharmacist,
        "rechecker": rechecker,
        "dispenser": dispenser,
        "decoctor": decoctor,
    }


def submit(clinician, *, items=PLAIN, decoction=Decoction.CENTER, delivery=DeliveryMode.PICKUP) -> Prescription:
    prescription, created = prescription_submit(
        actor=clinician,
        patient=PatientFactory(institution=clinician.institution),
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "胃痛"},
                "items": [{"herb": herb, "grams": str(grams)} for herb, grams in items],
                "doses": DOSES,
                "usage": "每日1剂，水煎分2次温服",
                "decoction": decoction,
                "delivery": delivery,
                "delivery_address": "白塔乡白塔村1号" if delivery == DeliveryMode.ADDRESS else "",
            }
        ),
    )
    assert created
    return prescription


def approved(clinician, pharmacist, **kwargs) -> Prescription:
    """Submitted, audited by the machine and approved by the pharmacist of H001."""
    prescription = submit(clinician, **kwargs)
    assert audit_run(prescription_id=prescription.pk) is not None
    audit_decide(pharmacist=pharmacist, prescription=prescription, decision=Decision.APPROVE)
    prescription = fresh(prescription)
    assert prescription.status == Stage.APPROVED
    return prescription


def fresh(prescription) -> Prescription:
    return Prescription.objects.get(pk=prescription.pk)


def stages(prescription) -> list[str]:
    return list(
        TraceEvent.objects.filter(prescription=prescription).order_by("at", "pk").values_list("stage", flat=True)
    )


def grams_left(name: str, pharmacy) -> Decimal:
    total = StockBatch.objects.filter(pharmacy=pharmacy, herb__name=name).aggregate(total=Sum("quantity_g"))["total"]
    return total or Decimal(0)


def noise_jpeg(low=60, high=200, *, size=(160, 120), exif=None) -> bytes:
    """A JPEG of grey noise between `low` and `high`: sharp and not blank, as dark as asked."""
    rng = random.Random(7)
    pixels = bytes(rng.randrange(low, high) for _ in range(size[0] * size[1]))
    image = Image.frombytes("L", size, pixels).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x8825] = {2: (30.0, 15.0, 0.0)}  # GPSInfo: a latitude
    exif[0x010F] = "PhoneMaker"
    return exif


def url(prescription) -> str:
    return f"/api/v1/prescriptions/{prescription.pk}/events/"


def step(client, user, prescription, stage, *, headers=None, **data):
    client.force_login(user)
    return client.post(
        url(prescription), {"stage": stage, **data}, content_type="application/json", headers=headers or {}
    )


def dispense(client, user, prescription, grams, *, photo=None, name="herbs.jpg", headers=None):
    """Multipart, as a phone sends it: the weights as a JSON string and the photo as a file."""
    client.force_login(user)
    upload = SimpleUploadedFile(name, noise_jpeg() if photo is None else photo, content_type="image/jpeg")
    weights = json.dumps([{"grams": str(g)} for g in grams])
    return client.post(
        url(prescription), {"stage": Stage.DISPENSED, "weights": weights, "photo": upload}, headers=headers or {}
    )


def ok(response, status=201) -> dict:
    assert response.status_code == status, response.content.decode()
    return response.json()


def walk_centre(client, people, prescription) -> dict:
    """Dispense (the prescribed grams), re-check, soak, decoct and package; the events by stage."""
    events = {Stage.DISPENSED: ok(dispense(client, people["dispenser"], prescription, [30, 30]))}
    events[Stage.RECHECKED] = ok(step(client, people["rechecker"], prescription, Stage.RECHECKED))
    events[Stage.SOAKING] = ok(step(client, people["decoctor"], prescription, Stage.SOAKING, tank="T-01"))
    events[Stage.DECOCTING] = ok(
        step(
            client, people["decoctor"], prescription, Stage.DECOCTING, machine="M-3", ack_reason="测试：未等足浸泡时间"
        )
    )
    events[Stage.PACKAGED] = ok(
        step(
            client,
            people["decoctor"],
            prescription,
            Stage.PACKAGED,
            bags=6,
            ml_per_bag=200,
            ack_reason="测试：未等足煎煮时间",
        )
    )
    return events


def nothing_dispensed(prescription, pharmacy, before: dict) -> None:
    assert fresh(prescription).status == Stage.APPROVED
    assert not DispensingRecord.objects.filter(prescription=prescription).exists()
    assert not StationPhoto.objects.filter(prescription=prescription).exists()
    assert not TraceEvent.objects.filter(prescription=prescription, stage=Stage.DISPENSED).exists()
    assert {name: grams_left(name, pharmacy) for name in before} == before


# --- The whole way through the stations -------------------------------------------------------------------


def test_a_centre_decocted_prescription_walks_every_station_once_in_order_and_takes_the_weighed_stock(
    api, stations, stock
):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = {name: grams_left(name, stock) for name in ("党参", "白术")}

    events = walk_centre(api, stations, prescription)

    assert fresh(prescription).status == Stage.PACKAGED
    assert stages(prescription) == CENTRE_TRACE
    assert {name: grams_left(name, stock) for name in before} == {name: grams - 30 for name, grams in before.items()}
    lines = events[Stage.DISPENSED]["data"]["weights"]
    assert [(line["herb"], Decimal(line["actual_g"])) for line in lines] == [("党参", 30), ("白术", 30)]
    # earliest expiry first: the short early batch of 党参 is emptied, the rest comes from the later one
    assert [(b["batch_no"], Decimal(b["grams"])) for b in lines[0]["batches"]] == [("DS-EARLY", 20), ("DS-LATE", 10)]
    assert [(b["batch_no"], Decimal(b["grams"])) for b in lines[1]["batches"]] == [("BZ-1", 30)]
    record = DispensingRecord.objects.get(prescription=prescription)
    assert (record.dispenser, record.pharmacy, record.weights) == (stations["dispenser"], stock, lines)
    assert events[Stage.DISPENSED]["data"]["photo"] == StationPhoto.objects.get(prescription=prescription).pk
    assert events[Stage.DISPENSED]["data"]["photo_quality"] == []
    rechecked = events[Stage.RECHECKED]["data"]
    assert (rechecked["result"], rechecked["dispensing"]) == ("pass", record.pk)
    assert "signatures" not in rechecked, "only a toxic-herb prescription is signed by both"
    assert events[Stage.SOAKING]["data"]["tank"] == "T-01"
    assert events[Stage.DECOCTING]["data"]["machine"] == "M-3"
    assert events[Stage.PACKAGED]["data"]["bags"] == 6 and events[Stage.PACKAGED]["data"]["ml_per_bag"] == 200


def test_a_self_decocted_prescription_goes_from_the_re_check_straight_to_packaging(api, stations, stock, pharmacist):
    """The re-check is made by a pharmacist of H001, the shared pharmacy's parent."""
    prescription = approved(stations["clinician"], pharmacist, decoction=Decoction.SELF)
    before = {name: grams_left(name, stock) for name in ("党参", "白术")}

    dispensed = ok(dispense(api, stations["dispenser"], prescription, [30, 30]))
    ok(step(api, pharmacist, prescription, Stage.RECHECKED))
    packaged = ok(step(api, stations["decoctor"], prescription, Stage.PACKAGED, bags=3))

    assert fresh(prescription).status == Stage.PACKAGED
    assert stages(prescription) == SELF_TRACE
    assert {name: grams_left(name, stock) for name in before} == {name: grams - 30 for name, grams in before.items()}
    assert len(dispensed["data"]["weights"]) == len(before)
    assert all(line["batches"] for line in dispensed["data"]["weights"])
    assert packaged["data"]["bags"] == 3 and "ml_per_bag" not in packaged["data"]


def test_a_dispenser_may_package_a_self_decocted_prescription_as_the_workflow_table_allows(api, stations):
    prescription = approved(stations["clinician"], stations["pharmacist"], decoction=Decoction.SELF)
    assert Role.DISPENSER in roles_of(
        find_move(Stage.RECHECKED, Stage.PACKAGED, decoction=Decoction.SELF, delivery=DeliveryMode.PICKUP)
    )
    ok(dispense(api, stations["dispenser"], prescription, [30, 30]))
    ok(step(api, stations["rechecker"], prescription, Stage.RECHECKED))

    response = step(api, stations["dispenser"], prescription, Stage.PACKAGED, bags=3)

    assert response.status_code == 201, response.content.decode()
    assert fresh(prescription).status == Stage.PACKAGED


def test_decocting_before_the_soaking_time_is_up_needs_an_acknowledged_reason(api, stations):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    ok(dispense(api, stations["dispenser"], prescription, [30, 30]))
    ok(step(api, stations["rechecker"], prescription, Stage.RECHECKED))
    ok(step(api, stations["decoctor"], prescription, Stage.SOAKING, tank="T-01"))

    response = step(api, stations["decoctor"], prescription, Stage.DECOCTING, machine="M-3")

    assert response.status_code == 400 and response.json()["errors"]["ack_reason"]
    assert fresh(prescription).status == Stage.SOAKING


# --- Weights and stock ------------------------------------------------------------------------------------


def test_a_weight_over_the_tolerance_is_refused_at_its_path_and_nothing_is_written(api, stations, stock):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = {name: grams_left(name, stock) for name in ("党参", "白术")}

    response = dispense(api, stations["dispenser"], prescription, [30, "31.8"])  # +6 % with the default ±5 %

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["weights[1].grams"] and errors["weights[1].grams"]
    nothing_dispensed(prescription, stock, before)


def test_a_weight_exactly_at_the_tolerance_is_accepted(api, stations, stock):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = grams_left("白术", stock)

    body = ok(dispense(api, stations["dispenser"], prescription, ["28.5", "31.5"]))  # −5 % and +5 %

    assert [line["deviation_pct"] for line in body["data"]["weights"]] == [-5.0, 5.0]
    assert grams_left("白术", stock) == before - Decimal("31.5")
    assert fresh(prescription).status == Stage.DISPENSED


def test_a_herb_out_of_stock_is_refused_at_its_path_and_no_other_herb_is_taken(
    api, catalogue, county, media, clinician, pharmacist, dispenser
):
    pharmacy = county["P001"]
    today = timezone.localdate()
    for name, batch_no, expiry, grams in [
        ("党参", "DS-1", today + timedelta(days=100), 1000),
        ("白术", "BZ-OLD", today - timedelta(days=1), 500),  # expired: does not count
        ("白术", "BZ-1", today + timedelta(days=100), 10),
    ]:
        stock_receive(
            pharmacy=pharmacy,
            herb=catalogue.get(name=name),
            batch_no=batch_no,
            expiry_date=expiry,
            quantity_g=Decimal(grams),
            actor=dispenser,
        )
    prescription = approved(clinician, pharmacist)
    before = {name: grams_left(name, pharmacy) for name in ("党参", "白术")}

    response = dispense(api, dispenser, prescription, [30, 30])

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["weights[1].grams"]
    nothing_dispensed(prescription, pharmacy, before)


# --- Steps out of order ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decoction", "delivery"), [(Decoction.CENTER, DeliveryMode.PICKUP), (Decoction.SELF, DeliveryMode.ADDRESS)]
)
def test_every_recordable_step_the_table_does_not_allow_from_a_stage_is_a_conflict(
    api, catalogue, clinician, dispenser, rechecker, decoctor, courier, decoction, delivery
):
    """Each POST is made by someone whose role may make the step, so only the order can fail."""
    by_role = {
        Role.DECOCTION_OPERATOR: decoctor,
        Role.DISPENSER: dispenser,
        Role.PHARMACIST: rechecker,
        Role.COURIER: courier,
        Role.CLINICIAN: clinician,
    }
    recordable = sorted(STEPS)
    assert {Stage.DISPENSED, Stage.RECHECKED, Stage.RECHECK_FAILED, Stage.SOAKING, Stage.DECOCTING} <= set(recordable)
    roles = {
        to: set().union(*(roles_of(m) for moves in TRANSITIONS.values() for m in moves if m.to == to))
        for to in recordable
    }
    actor_for = {to: next(by_role[role] for role in by_role if role in roles[to]) for to in recordable}
    wrong, checked = [], 0
    for current in Stage.values:
        prescription = submit(clinician, decoction=decoction, delivery=delivery)
        Prescription.objects.filter(pk=prescription.pk).update(status=current)  # test setup only
        events_before = TraceEvent.objects.filter(prescription=prescription).count()
        for to in recordable:
            if find_move(current, to, decoction=decoction, delivery=delivery) is not None:
                continue
            checked += 1
            response = step(api, actor_for[to], prescription, to)
            body = response.json()
            if response.status_code != 409 or not isinstance(body.get("detail"), str) or not body["detail"]:
                wrong.append(f"{current} -> {to}: {response.status_code} {body}")
        stored = Prescription.objects.values_list("status", flat=True).get(pk=prescription.pk)
        if stored != current or TraceEvent.objects.filter(prescription=prescription).count() != events_before:
            wrong.append(f"from {current}: a refused step changed the status or the trace")
    assert wrong == []
    assert checked > 0


# --- Who may record a step ------------------------------------------------------------------------------------


def rechecked(client, people) -> Prescription:
    prescription = approved(people["clinician"], people["pharmacist"])
    ok(dispense(client, people["dispenser"], prescription, [30, 30]))
    ok(step(client, people["rechecker"], prescription, Stage.RECHECKED))
    return fresh(prescription)


@pytest.mark.parametrize("who", ["courier", "clinician"])
def test_a_courier_or_a_clinician_cannot_record_soaking(api, stations, courier, who):
    person = courier if who == "courier" else stations["clinician"]
    prescription = rechecked(api, stations)

    response = step(api, person, prescription, Stage.SOAKING, tank="T-01")

    assert response.status_code == 403, response.content.decode()
    assert fresh(prescription).status == Stage.RECHECKED
    assert not TraceEvent.objects.filter(prescription=prescription, stage=Stage.SOAKING).exists()


def test_a_dispenser_of_a_second_pharmacy_in_the_county_cannot_dispense_for_the_serving_one(
    api, stations, stock, county
):
    """P001 serves the county (the first shared pharmacy by code); P002's staff are refused."""
    other = InstitutionFactory(
        code="P002", name="第二中药房", kind=InstitutionKind.SHARED_PHARMACY, parent=county["H001"]
    )
    intruder = UserFactory(institution=other, roles=[Role.DISPENSER])
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = {name: grams_left(name, stock) for name in ("党参", "白术")}

    response = dispense(api, intruder, prescription, [30, 30])

    assert response.status_code == 403, response.content.decode()
    nothing_dispensed(prescription, stock, before)


def test_a_dispenser_of_another_countys_pharmacy_cannot_dispense_and_does_not_learn_the_prescription_exists(
    api, stations, stock
):
    lead = InstitutionFactory(code="H900", name="邻县人民医院", kind=InstitutionKind.LEAD_HOSPITAL, parent=None)
    pharmacy = InstitutionFactory(code="P900", name="邻县中药房", kind=InstitutionKind.SHARED_PHARMACY, parent=lead)
    intruder = UserFactory(institution=pharmacy, roles=[Role.DISPENSER])
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = {name: grams_left(name, stock) for name in ("党参", "白术")}

    response = dispense(api, intruder, prescription, [30, 30])

    assert response.status_code == 404, response.content.decode()  # outside their county: as if absent
    nothing_dispensed(prescription, stock, before)


def test_a_pharmacist_outside_the_pharmacy_and_its_parent_cannot_re_check(api, stations, county):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    elsewhere = UserFactory(institution=county["C001"], roles=[Role.PHARMACIST])  # the township's own centre
    ok(dispense(api, stations["dispenser"], prescription, [30, 30]))

    response = step(api, elsewhere, prescription, Stage.RECHECKED)

    assert response.status_code == 403, response.content.decode()
    assert fresh(prescription).status == Stage.DISPENSED


def test_the_dispenser_cannot_re_check_their_own_dispensing_even_as_a_pharmacist(api, stations):
    dispenser = stations["dispenser"]
    prescription = approved(stations["clinician"], stations["pharmacist"])
    ok(dispense(api, dispenser, prescription, [30, 30]))
    user_set_roles(user=dispenser, roles=[Role.DISPENSER, Role.PHARMACIST])

    for stage in (Stage.RECHECKED, Stage.RECHECK_FAILED):
        response = step(api, dispenser, prescription, stage, reason="称量有误")
        assert response.status_code == 403, (stage, response.content.decode())

    assert fresh(prescription).status == Stage.DISPENSED
    assert stages(prescription)[-1] == Stage.DISPENSED


# --- Repeats ------------------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_twice_returns_the_first_event_and_dispenses_once(api, stations, stock):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = grams_left("白术", stock)
    headers = {"Idempotency-Key": "phone-7f3a"}

    first = ok(dispense(api, stations["dispenser"], prescription, [30, 30], headers=headers))
    second = ok(dispense(api, stations["dispenser"], prescription, [30, 30], headers=headers), status=200)

    assert second["id"] == first["id"] and first["data"]["idempotency_key"] == "phone-7f3a"
    assert TraceEvent.objects.filter(prescription=prescription, stage=Stage.DISPENSED).count() == 1
    assert DispensingRecord.objects.filter(prescription=prescription).count() == 1
    assert StationPhoto.objects.filter(prescription=prescription).count() == 1
    assert grams_left("白术", stock) == before - 30


def test_the_same_step_twice_in_a_row_without_a_key_returns_the_first_event(api, stations):
    prescription = rechecked(api, stations)

    first = ok(step(api, stations["decoctor"], prescription, Stage.SOAKING, tank="T-01"))
    second = ok(step(api, stations["decoctor"], prescription, Stage.SOAKING, tank="T-02"), status=200)

    assert second["id"] == first["id"] and second["data"]["tank"] == "T-01"
    assert TraceEvent.objects.filter(prescription=prescription, stage=Stage.SOAKING).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_soaking_posts_at_the_same_moment_record_one_soaking(
    catalogue, county, clinician, pharmacist, dispenser, decoctor, rechecker, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    for name in ("党参", "白术"):
        stock_receive(
            pharmacy=county["P001"],
            herb=Herb.objects.get(name=name),
            batch_no=f"{name}-1",
            expiry_date=timezone.localdate() + timedelta(days=100),
            quantity_g=Decimal(1000),
            actor=dispenser,
        )
    people = {"clinician": clinician, "pharmacist": pharmacist, "dispenser": dispenser, "rechecker": rechecker}
    prescription = rechecked(Client(), people)
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(decoctor)
    barrier = threading.Barrier(2)
    answers = []

    def post(client):
        try:
            barrier.wait(timeout=30)
            response = client.post(
                url(prescription), {"stage": Stage.SOAKING, "tank": "T-01"}, content_type="application/json"
            )
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # noqa: BLE001 - the assertion below names whatever happened
            answers.append((None, repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert sorted(status for status, _ in answers) == [200, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    assert TraceEvent.objects.filter(prescription=prescription, stage=Stage.SOAKING).count() == 1
    assert fresh(prescription).status == Stage.SOAKING


# --- Photos of the dispensed herbs ------------------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    data = noise_jpeg()
    return data[: len(data) // 2]


def bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")  # 400 megapixels in a small file
    return out.getvalue()


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (truncated_jpeg, "cut.jpg"),
        (bomb_png, "bomb.png"),
        (lambda: SVG, "herbs.svg"),
        (lambda: "称量记录：党参30g，白术30g".encode(), "notes.jpg"),
    ],
    ids=["truncated-jpeg", "decompression-bomb", "svg", "text-named-jpg"],
)
def test_a_dispensing_photo_that_is_not_a_sane_photo_is_refused_and_nothing_is_written(
    api, stations, stock, make, name
):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = {name: grams_left(name, stock) for name in ("党参", "白术")}

    response = dispense(api, stations["dispenser"], prescription, [30, 30], photo=make(), name=name)

    assert response.status_code == 400, response.content.decode()
    messages = response.json()["errors"]["photo"]
    assert messages and set(messages) <= {gettext(NOT_A_PHOTO), gettext(TOO_MANY_PIXELS)}
    nothing_dispensed(prescription, stock, before)


def test_dispensing_without_a_photo_is_refused(api, stations, stock):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    api.force_login(stations["dispenser"])

    response = api.post(
        url(prescription),
        {"stage": Stage.DISPENSED, "weights": [{"grams": "30"}, {"grams": "30"}]},
        content_type="application/json",
    )

    assert response.status_code == 400 and response.json()["errors"]["photo"]
    nothing_dispensed(prescription, stock, {"党参": grams_left("党参", stock)})


def test_the_stored_dispensing_photo_has_no_exif_location(api, stations):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    upload = noise_jpeg(exif=gps_exif())
    assert Image.open(io.BytesIO(upload)).getexif().get(0x8825)  # the upload carries a GPS block

    ok(dispense(api, stations["dispenser"], prescription, [30, 30], photo=upload))

    stored = StationPhoto.objects.get(prescription=prescription)
    with stored.image.open("rb") as handle:
        image = Image.open(handle)
        assert image.format == "JPEG"
        assert not image.getexif(), "location and camera data must be stripped"


def test_a_nearly_black_photo_is_flagged_dark_to_the_dispenser(api, stations):
    prescription = approved(stations["clinician"], stations["pharmacist"])

    body = ok(dispense(api, stations["dispenser"], prescription, [30, 30], photo=noise_jpeg(0, 45)))

    assert body["data"]["photo_quality"] == ["dark"]
    assert StationPhoto.objects.get(prescription=prescription).quality == ["dark"]


def test_the_thumbnail_is_enqueued_after_commit_and_made_once(
    api, stations, media, enqueued, django_capture_on_commit_callbacks
):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    with django_capture_on_commit_callbacks(execute=True):
        ok(dispense(api, stations["dispenser"], prescription, [30, 30]))
    photo = StationPhoto.objects.get(prescription=prescription)
    assert enqueued["thumbnail"] == [photo.pk] and not photo.thumbnail

    thumbnail_make(photo_id=photo.pk)
    made = StationPhoto.objects.get(pk=photo.pk).thumbnail.name
    thumbnail_make(photo_id=photo.pk)

    assert made and StationPhoto.objects.get(pk=photo.pk).thumbnail.name == made
    assert len([path for path in (media / "stations" / "thumbs").rglob("*") if path.is_file()]) == 1
    with StationPhoto.objects.get(pk=photo.pk).thumbnail.open("rb") as handle:
        assert max(Image.open(handle).size) <= 320


# --- The re-check ----------------------------------------------------------------------------------------------------


def test_a_failed_re_check_needs_a_reason_and_sends_the_prescription_back_to_be_dispensed_again(api, stations, stock):
    prescription = approved(stations["clinician"], stations["pharmacist"])
    before = grams_left("白术", stock)
    ok(dispense(api, stations["dispenser"], prescription, [30, 30]))

    refused = step(api, stations["rechecker"], prescription, Stage.RECHECK_FAILED)
    assert refused.status_code == 400 and refused.json()["errors"]["reason"]
    assert fresh(prescription).status == Stage.DISPENSED

    failed = ok(step(api, stations["rechecker"], prescription, Stage.RECHECK_FAILED, reason="白术错付为苍术"))
    assert (failed["data"]["result"], failed["data"]["reason"]) == ("fail", "白术错付为苍术")
    ok(dispense(api, stations["dispenser"], prescription, [30, 30]))
    passed = ok(step(api, stations["rechecker"], prescription, Stage.RECHECKED))

    records = list(DispensingRecord.objects.filter(prescription=prescription).order_by("pk"))
    assert len(records) == 2
    assert passed["data"]["dispensing"] == records[1].pk
    assert grams_left("白术", stock) == before - 60
    assert stages(prescription)[3:] == [Stage.DISPENSED, Stage.RECHECK_FAILED, Stage.DISPENSED, Stage.RECHECKED]


def test_a_toxic_herb_prescription_is_signed_by_the_dispenser_and_the_re_checker(api, stations):
    prescription = approved(stations["clinician"], stations["pharmacist"], items=TOXIC)

    ok(dispense(api, stations["dispenser"], prescription, [9, 30]))
    body = ok(step(api, stations["rechecker"], prescription, Stage.RECHECKED))

    assert body["data"]["signatures"] == {
        "dispenser": str(stations["dispenser"]),
        "rechecker": str(stations["rechecker"]),
    }
    event = TraceEvent.objects.get(prescription=prescription, stage=Stage.RECHECKED)
    assert event.data["signatures"] == body["data"]["signatures"]


# --- The daily inspection --------------------------------------------------------------------------------------------


def test_the_daily_inspection_picks_a_packaged_centre_decoction_once_a_day(api, stations):
    centre = approved(stations["clinician"], stations["pharmacist"])
    walk_centre(api, stations, centre)
    own = approved(stations["clinician"], stations["pharmacist"], decoction=Decoction.SELF)
    ok(dispense(api, stations["dispenser"], own, [30, 30]))
    ok(step(api, stations["rechecker"], own, Stage.RECHECKED))
    ok(step(api, stations["decoctor"], own, Stage.PACKAGED, bags=3))
    today = timezone.localdate()

    picked = inspections_pick(day=today, rng=random.Random(1))
    again = inspections_pick(day=today, rng=random.Random(2))

    assert [inspection.prescription_id for inspection in picked] == [centre.pk]
    assert again == []
    assert list(Inspection.objects.values_list("prescription_id", "picked_on", "result")) == [(centre.pk, today, "")]


def test_a_pharmacist_records_the_inspection_and_a_failure_needs_notes(api, stations):
    centre = approved(stations["clinician"], stations["pharmacist"])
    walk_centre(api, stations, centre)
    second = approved(stations["clinician"], stations["pharmacist"])
    walk_centre(api, stations, second)
    first_pick, second_pick = (
        Inspection.objects.create(prescription=centre, picked_on=timezone.localdate()),
        Inspection.objects.create(prescription=second, picked_on=timezone.localdate()),
    )
    rechecker = stations["rechecker"]

    with pytest.raises(PermissionDenied):
        inspection_record(actor=stations["decoctor"], inspection=first_pick, result=InspectionResult.PASSED)
    with pytest.raises(ValidationError) as failed_without_notes:
        inspection_record(actor=rechecker, inspection=second_pick, result=InspectionResult.FAILED)
    assert "notes" in failed_without_notes.value.message_dict

    passed = inspection_record(actor=rechecker, inspection=first_pick, result=InspectionResult.PASSED)
    failed = inspection_record(
        actor=rechecker, inspection=second_pick, result=InspectionResult.FAILED, notes="药液量不足"
    )

    assert (passed.result, passed.inspector, passed.inspected_at is not None) == ("passed", rechecker, True)
    assert (failed.result, failed.notes, failed.inspector) == ("failed", "药液量不足", rechecker)
    with pytest.raises(ValidationError):
        inspection_record(actor=rechecker, inspection=first_pick, result=InspectionResult.FAILED, notes="改判")
    assert Inspection.objects.get(pk=first_pick.pk).result == InspectionResult.PASSED


def test_every_step_the_decoction_app_records_is_in_the_step_table_and_walked_here():
    """Guards the tests above: a new station step needs a walk of its own here."""
    assert all(STEPS[stage] is recorder for stage, recorder in RECORDERS.items())
    assert set(RECORDERS) == set(CENTRE_TRACE[3:]) | {Stage.RECHECK_FAILED}
    for current, to in itertools.pairwise(CENTRE_TRACE[2:]):
        assert find_move(current, to, decoction=Decoction.CENTER, delivery=DeliveryMode.PICKUP) is not None
    for current, to in itertools.pairwise(SELF_TRACE[2:]):
        assert find_move(current, to, decoction=Decoction.SELF, delivery=DeliveryMode.PICKUP) is not None


def test_a_dispenser_cannot_package_a_centre_decoction_and_is_told_it_is_the_role(api, stations):
    """The table lets only the decoction operator package a centre decoction: a role refusal (403),
    not a step out of order (409)."""
    prescription = rechecked(api, stations)
    ok(step(api, stations["decoctor"], prescription, Stage.SOAKING, tank="T-01"))
    ok(step(api, stations["decoctor"], prescription, Stage.DECOCTING, machine="M-3", ack_reason="测试"))

    response = step(api, stations["dispenser"], prescription, Stage.PACKAGED, bags=6, ml_per_bag=200, ack_reason="测试")

    assert response.status_code == 403, response.content.decode()
    assert fresh(prescription).status == Stage.DECOCTING
