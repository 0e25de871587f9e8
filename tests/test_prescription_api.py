"""The prescriptions API: submitting (with every refusal a field path and nothing written), the
double signature, idempotency, scope, token authentication, lists, detail, precheck, cancel,
revise, and the audit enqueued only after the submit commits."""

import json
import re
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit.models import Decision
from audit.services import audit_decide, audit_run
from catalogue.models import Herb, HerbAlias
from core.tasks import enqueue
from patients.models import Consult, Patient
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionSequence, TraceEvent
from prescriptions.workflow import Stage

from .factories import PatientFactory

pytestmark = pytest.mark.usefixtures("enqueued")

URL = "/api/v1/prescriptions/"
PASSWORD = "pw-for-tests-1"
EIGHTEEN = "incompatibility.eighteen:甘草+甘遂"
CLEAN_ITEMS = [{"herb": "党参", "grams": "10"}, {"herb": "白术", "grams": "10"}]
BLOCK_ITEMS = [
    {"herb": "甘草", "grams": "6"},
    {"herb": "甘遂", "grams": "1"},
]  # 十八反, within 甘遂's 2-day limit at 3 doses
OMIT = object()  # a body() value that leaves the field out
TOKEN_IN_URL = re.compile(r"/t/([A-Za-z0-9_-]{32,})/$")


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2, written out independently of the code under test."""
    total = sum(int(digit) * (2 ** (17 - position) % 11) for position, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def resident_id(born: str = "19800315", sequence: str = "123", area: str = "320102") -> str:
    first17 = area + born + sequence
    return first17 + check_char(first17)


def body(patient, **values) -> dict:
    data = {
        "patient": patient.pk if isinstance(patient, Patient) else patient,
        "consult": {"tcm_disease": "感冒", "tcm_syndrome": "风寒束表"},
        "items": CLEAN_ITEMS,
        "doses": 7,
        "usage": "每日1剂，水煎分2次温服",
        "delivery_address": "白塔乡白塔村1号",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not OMIT}


def post(client, data, url=URL, **headers):
    return client.post(url, data, content_type="application/json", headers=headers)


def signed(reason="病情需要，已告知患者", password=PASSWORD) -> dict:
    return {"password": password, "reasons": {EIGHTEEN: reason}}


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Prescription, Consult, Patient, PrescriptionItem, TraceEvent, PrescriptionSequence)
    }


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body["errors"]


@pytest.fixture
def patient(county):
    return PatientFactory(institution=county["T001"], name="张三丰")


@pytest.fixture
def clinician_api(api, clinician, catalogue):
    api.force_login(clinician)
    return api


def submitted(client, patient, **values) -> dict:
    response = post(client, body(patient, **values))
    assert response.status_code == 201, response.content
    return response.json()


# --- Submitting ----------------------------------------------------------------------------------------


def test_submit_answers_201_with_id_number_version_status_and_a_tracking_url(clinician_api, patient):
    response = post(clinician_api, body(patient))

    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == {"id", "number", "version", "status", "tracking_url"}
    assert (answer["version"], answer["status"]) == (1, "submitted")
    assert answer["tracking_url"].startswith(settings.SITE_URL + "/t/")
    token = TOKEN_IN_URL.search(answer["tracking_url"]).group(1)
    prescription = Prescription.objects.get(pk=answer["id"])
    assert prescription.tracking_token == token
    assert (prescription.patient, prescription.status, prescription.number) == (
        patient,
        Stage.SUBMITTED,
        answer["number"],
    )


def test_numbers_are_institution_code_local_date_and_an_increasing_four_digit_sequence(
    clinician_api, patient, monkeypatch
):
    # Frozen at 00:30 in Asia/Shanghai, still the day before in UTC: the number carries the local
    # date, and the test cannot straddle midnight.
    moment = datetime(2026, 11, 24, 0, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    first = submitted(clinician_api, patient)["number"]
    second = submitted(clinician_api, patient)["number"]

    assert re.fullmatch(r"T001-20261124-\d{4}", first) and re.fullmatch(r"T001-20261124-\d{4}", second)
    assert int(second[-4:]) == int(first[-4:]) + 1


def test_submit_stores_items_consult_prices_and_a_submitted_event(clinician_api, patient, clinician):
    Herb.objects.filter(name="党参").update(price_per_g=Decimal("0.12"))
    Herb.objects.filter(name="白术").update(price_per_g=Decimal("0.08"))

    prescription = Prescription.objects.get(pk=submitted(clinician_api, patient)["id"])

    assert [(i.position, i.written_name, i.grams) for i in prescription.items.all()] == [
        (1, "党参", Decimal(10)),
        (2, "白术", Decimal(10)),
    ]
    assert (prescription.consult.tcm_disease, prescription.consult.clinician) == ("感冒", clinician)
    herb_total = Decimal("0.12") * 10 * 7 + Decimal("0.08") * 10 * 7
    assert prescription.herb_total == herb_total
    fees = settings.TCM_DECOCTION_FEE_PER_DOSE * 7 + settings.TCM_DELIVERY_FEE
    assert prescription.total == herb_total + fees
    assert list(prescription.events.values_list("stage", "actor")) == [(Stage.SUBMITTED, clinician.pk)]


# A new patient given inline with the prescription (no ID number: sex and birth date given).
INLINE_MAN = {"name": "赵六", "sex": "M", "date_of_birth": "1970-03-01", "mobile": "13912345678"}

BAD_INPUTS = [
    ("unknown herb", {"items": [{"herb": "甘艹", "grams": "6"}]}, "items[0].herb"),
    ("zero grams", {"items": [{"herb": "党参", "grams": "0"}]}, "items[0].grams"),
    ("over 500 grams", {"items": [{"herb": "党参", "grams": "500.01"}]}, "items[0].grams"),
    ("the same herb twice", {"items": [*CLEAN_ITEMS, {"herb": "党参", "grams": "6"}]}, "items[2].herb"),
    (
        "the same herb by its alias",
        {"items": [{"herb": "甘草", "grams": "6"}, {"herb": "生甘草", "grams": "3"}]},
        "items[1].herb",
    ),
    ("zero doses", {"doses": 0}, "doses"),
    ("61 doses", {"doses": 61}, "doses"),
    ("no TCM disease", {"consult": {"tcm_syndrome": "风寒束表"}}, "consult.tcm_disease"),
    ("no consult at all", {"consult": OMIT}, "consult.tcm_disease"),
    ("no usage", {"usage": OMIT}, "usage"),
    ("blank usage", {"usage": "  "}, "usage"),
    ("delivery without an address", {"delivery": "address", "delivery_address": OMIT}, "delivery_address"),
    ("501 grams", {"items": [{"herb": "党参", "grams": "501"}]}, "items[0].grams"),
    ("no herbs", {"items": []}, "items"),
    ("negative grams in the third row", {"items": [*CLEAN_ITEMS, {"herb": "茯苓", "grams": "-3"}]}, "items[2].grams"),
    (
        "a pregnant male",
        {"patient": INLINE_MAN, "consult": {"tcm_disease": "感冒", "pregnancy": "yes"}},
        "consult.pregnancy",
    ),
    ("age 200", {"patient": {**INLINE_MAN, "date_of_birth": "1825-01-01"}}, "patient.age_years"),
    ("weight 0", {"consult": {"tcm_disease": "感冒", "weight_kg": "0"}}, "consult.weight_kg"),
    ("weight 301 kg", {"consult": {"tcm_disease": "感冒", "weight_kg": "301"}}, "consult.weight_kg"),
    ("an allergy that is no herb", {"patient": {**INLINE_MAN, "allergies": ["青霉素"]}}, "patient.allergies"),
]


@pytest.mark.parametrize(("values", "path"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_each_bad_input_is_a_400_at_its_field_path_and_nothing_is_written(clinician_api, patient, values, path):
    values = {"patient": patient, **values}
    before = counts()

    errors = errors_of(post(clinician_api, body(values.pop("patient"), **values)))

    assert errors[path], errors
    assert counts() == before


def test_an_unknown_herb_is_answered_with_the_herb_that_sounds_the_same(clinician_api, patient):
    errors = errors_of(post(clinician_api, body(patient, items=[{"herb": "甘艹", "grams": "6"}])))

    assert "甘艹" in errors["items[0].herb"][0] and "甘草" in errors["items[0].herb"][0]


def test_the_alias_used_above_is_only_an_alias_of_the_herb_already_in_the_list(catalogue):
    assert HerbAlias.objects.get(alias="生甘草").herb.name == "甘草"
    assert not Herb.objects.filter(name="生甘草").exists()


def test_an_inline_patient_without_sex_birth_date_or_id_number_is_refused_under_patient(clinician_api):
    before = counts()

    errors = errors_of(post(clinician_api, body({"name": "王五", "mobile": "13912345678"})))

    assert errors["patient.sex"] and errors["patient.date_of_birth"]
    assert all(path.startswith("patient.") for path in errors), errors
    assert counts() == before


def test_an_inline_patient_with_a_wrong_id_check_character_is_refused_at_patient_id_number(clinician_api):
    number = resident_id()
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    before = counts()

    errors = errors_of(post(clinician_api, body({"name": "王五", "mobile": "13912345678", "id_number": wrong})))

    assert errors["patient.id_number"]
    assert counts() == before


def test_a_new_patient_given_inline_is_registered_together_with_the_prescription(clinician_api, clinician):
    answer = submitted(clinician_api, {"name": "王小明", "mobile": "13912345670", "id_number": resident_id()})

    patient = Prescription.objects.get(pk=answer["id"]).patient
    assert (patient.name, patient.institution.code, patient.created_by) == ("王小明", "T001", clinician)
    assert (patient.sex, patient.date_of_birth.isoformat()) == ("M", "1980-03-15")


def test_when_the_prescription_part_is_invalid_the_inline_patient_is_not_created_either(clinician_api):
    before = counts()
    new_patient = {"name": "王小明", "mobile": "13912345670", "id_number": resident_id()}

    errors = errors_of(post(clinician_api, body(new_patient, items=[{"herb": "党参", "grams": "0"}])))

    assert errors["items[0].grams"]
    assert counts() == before
    assert not Patient.objects.filter(name="王小明").exists()


# --- The double signature for block-level findings ---------------------------------------------------


def test_a_block_finding_without_a_double_signature_is_refused_with_double_signature_errors(clinician_api, patient):
    before = counts()

    errors = errors_of(post(clinician_api, body(patient, items=BLOCK_ITEMS, doses=3)))

    assert (
        errors["double_signature.password"] and errors["double_signature.reasons[incompatibility.eighteen:甘草+甘遂]"]
    )
    assert counts() == before


def test_a_double_signature_with_a_wrong_password_is_refused(clinician_api, patient):
    before = counts()

    response = post(clinician_api, body(patient, items=BLOCK_ITEMS, doses=3, double_signature=signed(password="wrong")))

    assert errors_of(response)["double_signature.password"]
    assert counts() == before


def test_a_double_signature_without_a_reason_for_each_block_finding_is_refused(clinician_api, patient):
    unsigned = {"password": PASSWORD, "reasons": {"dose.over_max:甘草": "不相干的理由"}}
    response = post(clinician_api, body(patient, items=BLOCK_ITEMS, doses=3, double_signature=unsigned))

    errors = errors_of(response)
    # The password is asked again too: a refusal never tells that the password was right.
    assert (
        errors["double_signature.reasons[incompatibility.eighteen:甘草+甘遂]"] and errors["double_signature.password"]
    )


def test_a_double_signature_with_the_password_and_reasons_is_stored_without_the_password(
    clinician_api, patient, clinician
):
    answer = submitted(clinician_api, patient, items=BLOCK_ITEMS, doses=3, double_signature=signed("病情需要"))

    detail = clinician_api.get(f"{URL}{answer['id']}/")
    assert detail.status_code == 200
    signature = detail.json()["double_signature"]
    assert signature["signed_by"] == clinician.pk
    assert [(f["code"], f["herbs"], f["reason"]) for f in signature["findings"]] == [
        ("incompatibility.eighteen", ["甘草", "甘遂"], "病情需要")
    ]
    stored = Prescription.objects.get(pk=answer["id"]).double_signature
    assert PASSWORD not in json.dumps(stored, ensure_ascii=False)
    assert PASSWORD not in detail.content.decode()


# --- Idempotency ------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_field_twice_gives_one_prescription_and_200_the_second_time(clinician_api, patient):
    first = post(clinician_api, body(patient, idempotency_key="his-0001"))
    second = post(clinician_api, body(patient, idempotency_key="his-0001"))

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert Prescription.objects.filter(idempotency_key="his-0001").count() == 1
    assert Prescription.objects.count() == 1


def test_the_same_idempotency_key_header_twice_gives_one_prescription_and_200_the_second_time(clinician_api, patient):
    first = post(clinician_api, body(patient), **{"Idempotency-Key": "his-0002"})
    second = post(clinician_api, body(patient), **{"Idempotency-Key": "his-0002"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert Prescription.objects.count() == 1


def test_different_idempotency_keys_give_different_prescriptions(clinician_api, patient):
    first = submitted(clinician_api, patient, idempotency_key="his-a")
    second = submitted(clinician_api, patient, idempotency_key="his-b")

    assert first["id"] != second["id"]


# --- Who may submit and see -------------------------------------------------------------------------------


def test_the_outsider_clinician_cannot_submit_for_a_patient_of_another_township(api, outsider, patient, catalogue):
    api.force_login(outsider)
    before = counts()

    assert errors_of(post(api, body(patient)))["patient"]
    assert counts() == before


def test_the_outsider_clinician_cannot_see_or_cancel_a_prescription_of_another_township(
    clinician_api, api, patient, outsider
):
    pk = submitted(clinician_api, patient)["id"]
    api.force_login(outsider)

    assert api.get(f"{URL}{pk}/").status_code == 404
    assert post(api, {"reason": "x"}, url=f"{URL}{pk}/cancel/").status_code == 404
    assert api.get(URL).json()["count"] == 0
    assert Prescription.objects.get(pk=pk).status == Stage.SUBMITTED


def test_a_courier_cannot_submit_or_list_prescriptions(api, courier, patient, catalogue):
    api.force_login(courier)

    assert post(api, body(patient)).status_code == 403
    assert api.get(URL).status_code == 403
    assert not Prescription.objects.exists()


def test_an_anonymous_request_is_refused(api, patient, catalogue):
    assert post(api, body(patient)).status_code in (401, 403)
    assert not Prescription.objects.exists()


def test_a_his_can_get_a_token_and_submit_with_it(clinician, patient, catalogue):
    his = Client()
    response = his.post("/api/v1/auth/token/", {"username": "clinician", "password": PASSWORD})
    assert response.status_code == 200, response.content
    token = response.json()["token"]

    answer = post(his, body(patient), Authorization=f"Token {token}")

    assert answer.status_code == 201, answer.content
    assert Prescription.objects.get(pk=answer.json()["id"]).prescriber == clinician


def test_a_wrong_password_gets_no_token(clinician, catalogue):
    response = Client().post("/api/v1/auth/token/", {"username": "clinician", "password": "wrong"})

    assert response.status_code == 400


# --- Lists and detail ------------------------------------------------------------------------------------


@pytest.fixture
def three(clinician_api, patient, clinician, county):
    """Two prescriptions for 张三丰 (one cancelled) and one for 李四."""
    other = PatientFactory(institution=county["T001"], name="李四")
    first = submitted(clinician_api, patient)
    second = submitted(clinician_api, other)
    third = submitted(clinician_api, patient)
    assert post(clinician_api, {"reason": "患者要求"}, url=f"{URL}{third['id']}/cancel/").status_code == 200
    return first, second, third, other


def ids(response) -> set:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_list_filters_by_status(clinician_api, three):
    first, second, third, _ = three

    assert ids(clinician_api.get(URL, {"status": "cancelled"})) == {third["id"]}
    assert ids(clinician_api.get(URL, {"status": "submitted"})) == {first["id"], second["id"]}
    assert errors_of(clinician_api.get(URL, {"status": "nonsense"}))["status"]


def test_the_list_filters_by_patient_and_by_search_text(clinician_api, three, patient):
    first, second, third, other = three

    assert ids(clinician_api.get(URL, {"patient": patient.pk})) == {first["id"], third["id"]}
    assert ids(clinician_api.get(URL, {"q": "李四"})) == {second["id"]}
    assert ids(clinician_api.get(URL, {"q": first["number"]})) == {first["id"]}


def test_the_list_filters_by_date(clinician_api, three):
    today = timezone.localdate()

    assert len(ids(clinician_api.get(URL, {"date_from": today.isoformat()}))) == 3
    assert ids(clinician_api.get(URL, {"date_from": (today + timedelta(days=1)).isoformat()})) == set()
    assert errors_of(clinician_api.get(URL, {"date_from": "yesterday"}))


def test_a_bad_date_to_is_a_400_at_date_to_not_at_date_from(clinician_api, three):
    today = timezone.localdate().isoformat()

    errors = errors_of(clinician_api.get(URL, {"date_from": today, "date_to": "31/12/2024"}))

    assert list(errors) == ["date_to"]
    assert errors_of(clinician_api.get(URL, {"date_from": "2024-13-01"})).keys() == {"date_from"}


def test_a_patient_that_is_not_an_id_is_a_400_at_patient(clinician_api, three):
    assert errors_of(clinician_api.get(URL, {"patient": "abc"})).keys() == {"patient"}
    assert errors_of(clinician_api.get(URL, {"patient": "0"})).keys() == {"patient"}


def test_each_bad_filter_is_reported_at_its_own_field_in_one_answer(clinician_api, three):
    errors = errors_of(clinician_api.get(URL, {"status": "nonsense", "date_from": "x", "date_to": "y", "patient": "p"}))

    assert errors.keys() == {"status", "date_from", "date_to", "patient"}


def page_rows(client, params) -> set:
    """The prescription numbers listed on the page (its rows link to the detail pages)."""
    response = client.get("/prescriptions/", params)
    assert response.status_code == 200
    return {p.pk for p in response.context["page"]}


def test_the_prescription_page_shows_a_bad_date_as_a_field_error_and_lists_nothing(clinician_api, three):
    response = clinician_api.get("/prescriptions/", {"date_from": timezone.localdate().isoformat(), "date_to": "bad"})

    assert response.status_code == 200
    assert list(response.context["page"]) == []
    assert response.context["form"].errors.keys() == {"date_to"}
    html = response.content.decode()
    assert 'data-error-for="date_to"' in html and 'data-error-for="date_from"' not in html


def test_the_prescription_page_shows_an_unknown_status_as_a_field_error(clinician_api, three):
    response = clinician_api.get("/prescriptions/", {"status": "nonsense"})

    assert response.status_code == 200 and list(response.context["page"]) == []
    assert 'data-error-for="status"' in response.content.decode()


def test_the_prescription_page_shows_an_id_beyond_64_bits_as_an_error_not_a_500(clinician_api, three):
    response = clinician_api.get("/prescriptions/", {"patient": str(2**64 + 1)})

    assert response.status_code == 200 and list(response.context["page"]) == []
    assert 'data-error-for="patient"' in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "cancelled"},
        {"status": "submitted"},
        {"q": "李四"},
        {"q": "张三"},
        {"date_from": "2000-01-01"},
        {"date_to": "2000-01-01"},
        {"status": "submitted", "q": "张三"},
    ],
)
def test_the_api_and_the_page_list_the_same_prescriptions_for_the_same_filters(clinician_api, three, params):
    assert page_rows(clinician_api, params) == ids(clinician_api.get(URL, params))


def test_the_page_and_the_api_filter_by_patient_alike(clinician_api, three, patient):
    first, _, third, _ = three

    assert page_rows(clinician_api, {"patient": patient.pk}) == ids(clinician_api.get(URL, {"patient": patient.pk}))
    assert page_rows(clinician_api, {"patient": patient.pk}) == {first["id"], third["id"]}


def test_the_openapi_schema_lists_the_prescription_filters(clinician_api):
    schema = clinician_api.get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in schema["paths"][URL]["get"]["parameters"]}

    assert {"status", "patient", "date_from", "date_to", "q", "page", "page_size"} <= set(parameters)
    assert "cancelled" in parameters["status"]["schema"]["enum"]
    # An ISO date, or empty for no bound (the page's blank date input).
    assert {"type": "string", "format": "date"} in parameters["date_to"]["schema"]["anyOf"]


def test_the_list_is_paginated_newest_first(clinician_api, three):
    first, second, third, _ = three

    page1 = clinician_api.get(URL, {"page_size": 2}).json()
    page2 = clinician_api.get(URL, {"page_size": 2, "page": 2}).json()

    assert page1["count"] == 3 and page1["next"] and page2["next"] is None
    assert [row["id"] for row in page1["results"] + page2["results"]] == [third["id"], second["id"], first["id"]]


def test_listing_costs_the_same_number_of_queries_for_two_or_six_prescriptions(clinician_api, patient):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert clinician_api.get(URL).status_code == 200
        return len(captured)

    for _ in range(2):
        submitted(clinician_api, patient)
    two = queries()
    for _ in range(4):
        submitted(clinician_api, patient)

    assert queries() == two


def test_the_detail_has_items_consult_events_and_no_audit_before_the_audit(clinician_api, patient, clinician):
    answer = submitted(clinician_api, patient)

    detail = clinician_api.get(f"{URL}{answer['id']}/").json()

    assert [(i["position"], i["herb"], i["grams"]) for i in detail["items"]] == [
        (1, "党参", "10.00"),
        (2, "白术", "10.00"),
    ]
    assert (detail["consult"]["tcm_disease"], detail["consult"]["tcm_syndrome"]) == ("感冒", "风寒束表")
    assert [(e["stage"], e["actor"]) for e in detail["events"]] == [("submitted", str(clinician))]
    assert detail["audit"] is None and detail["decision"] is None
    assert (detail["status"], detail["tracking_url"]) == ("submitted", answer["tracking_url"])


# --- Precheck -----------------------------------------------------------------------------------------------


def test_precheck_returns_findings_and_the_price_and_saves_nothing(clinician_api, patient):
    Herb.objects.filter(name="甘草").update(price_per_g=Decimal("0.05"))
    Herb.objects.filter(name="甘遂").update(price_per_g=Decimal("0.40"))
    before = counts()

    response = post(clinician_api, body(patient, items=BLOCK_ITEMS, doses=3), url=f"{URL}precheck/")

    assert response.status_code == 200, response.content
    answer = response.json()
    eighteen = [f for f in answer["findings"] if f["code"] == "incompatibility.eighteen"]
    assert [(f["severity"], f["herbs"]) for f in eighteen] == [("block", ["甘草", "甘遂"])]
    decoction_fee = settings.TCM_DECOCTION_FEE_PER_DOSE * 3
    assert answer["price"]["lines"] == ["0.90", "1.20"]
    assert Decimal(answer["price"]["herb_total"]) == Decimal("2.10")
    assert Decimal(answer["price"]["decoction_fee"]) == decoction_fee
    assert Decimal(answer["price"]["total"]) == Decimal("2.10") + decoction_fee + settings.TCM_DELIVERY_FEE
    assert counts() == before


def test_precheck_of_a_draft_with_only_herbs_still_gives_the_live_warnings(clinician_api, patient):
    """The editor asks while the clinician is still writing: no usage or address yet."""
    before = counts()

    response = post(clinician_api, {"patient": patient.pk, "items": BLOCK_ITEMS}, url=f"{URL}precheck/")

    assert response.status_code == 200, response.content
    assert "incompatibility.eighteen" in {f["code"] for f in response.json()["findings"]}
    assert counts() == before


def test_a_herb_the_registered_patient_is_allergic_to_is_a_block_finding_and_needs_the_second_signature(
    clinician_api, patient
):
    patient.allergies.set(Herb.objects.filter(name__in=["白术", "黄芪"]))

    precheck = post(clinician_api, body(patient), url=f"{URL}precheck/").json()
    unsigned = post(clinician_api, body(patient))

    allergies = [f for f in precheck["findings"] if f["code"] == "allergy"]
    assert [(f["severity"], f["herbs"]) for f in allergies] == [("block", ["白术"])]
    assert "double_signature.password" in errors_of(unsigned)


def test_precheck_needs_a_patient_the_clinician_may_see(api, outsider, patient, catalogue):
    api.force_login(outsider)

    assert errors_of(post(api, body(patient), url=f"{URL}precheck/"))["patient"]


# --- Cancel -----------------------------------------------------------------------------------------------


def test_a_clinician_can_cancel_before_dispensing_and_the_reason_is_recorded(clinician_api, patient, clinician):
    pk = submitted(clinician_api, patient)["id"]

    response = post(clinician_api, {"reason": "患者要求"}, url=f"{URL}{pk}/cancel/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    event = TraceEvent.objects.filter(prescription_id=pk).order_by("-at", "-pk").first()
    assert (event.stage, event.actor, event.data["reason"]) == (Stage.CANCELLED, clinician, "患者要求")


def test_cancelling_twice_is_a_conflict(clinician_api, patient):
    pk = submitted(clinician_api, patient)["id"]
    post(clinician_api, {"reason": "患者要求"}, url=f"{URL}{pk}/cancel/")

    response = post(clinician_api, {"reason": "再次取消"}, url=f"{URL}{pk}/cancel/")

    assert response.status_code == 409
    assert TraceEvent.objects.filter(prescription_id=pk, stage=Stage.CANCELLED).count() == 1


def test_a_dispensed_prescription_cannot_be_cancelled(clinician_api, patient):
    pk = submitted(clinician_api, patient)["id"]
    Prescription.objects.filter(pk=pk).update(status=Stage.DISPENSED)  # test setup only

    assert post(clinician_api, {"reason": "患者要求"}, url=f"{URL}{pk}/cancel/").status_code == 409
    assert Prescription.objects.get(pk=pk).status == Stage.DISPENSED


def test_cancelling_needs_a_reason(clinician_api, patient):
    pk = submitted(clinician_api, patient)["id"]

    assert errors_of(post(clinician_api, {"reason": "  "}, url=f"{URL}{pk}/cancel/"))["reason"]
    assert Prescription.objects.get(pk=pk).status == Stage.SUBMITTED


# --- Revise ------------------------------------------------------------------------------------------------


def reject(pk, pharmacist):
    audit_run(prescription_id=pk)
    audit_decide(
        pharmacist=pharmacist,
        prescription=Prescription.objects.get(pk=pk),
        decision=Decision.REJECT,
        reasons=["白术剂量请再斟酌"],
    )


REVISED = {"items": [{"herb": "党参", "grams": "12"}, {"herb": "白术", "grams": "9"}]}


def test_only_a_rejected_prescription_can_be_revised(clinician_api, patient):
    pk = submitted(clinician_api, patient)["id"]
    before = counts()

    response = post(clinician_api, body(patient, **REVISED), url=f"{URL}{pk}/revise/")

    assert response.status_code == 400
    assert counts() == before


def test_revising_a_rejected_prescription_makes_version_2_with_the_same_number_and_tracking_token(
    clinician_api, patient, pharmacist
):
    old = submitted(clinician_api, patient)
    old_token = TOKEN_IN_URL.search(old["tracking_url"]).group(1)
    reject(old["id"], pharmacist)

    response = post(clinician_api, body(patient, **REVISED), url=f"{URL}{old['id']}/revise/")

    assert response.status_code == 201, response.content
    new = response.json()
    assert (new["number"], new["version"], new["status"]) == (old["number"], 2, "submitted")
    assert new["tracking_url"] == old["tracking_url"]
    detail = clinician_api.get(f"{URL}{new['id']}/").json()
    assert detail["previous"] == old["id"]
    assert [(i["herb"], i["grams"]) for i in detail["items"]] == [("党参", "12.00"), ("白术", "9.00")]
    assert Prescription.objects.get(pk=new["id"]).tracking_token == old_token
    assert Prescription.objects.get(pk=old["id"]).tracking_token is None
    assert Prescription.objects.get(pk=old["id"]).status == Stage.REJECTED


def test_a_rejected_prescription_that_was_already_revised_cannot_be_revised_again(clinician_api, patient, pharmacist):
    old = submitted(clinician_api, patient)
    reject(old["id"], pharmacist)
    assert post(clinician_api, body(patient, **REVISED), url=f"{URL}{old['id']}/revise/").status_code == 201
    before = counts()

    response = post(clinician_api, body(patient, **REVISED), url=f"{URL}{old['id']}/revise/")

    assert response.status_code in (400, 409), response.content
    assert counts() == before


# --- The audit is enqueued after commit, and a broker outage does not fail the submit -----------------------


def test_a_submit_enqueues_the_audit_exactly_once_and_only_after_commit(
    clinician_api, patient, django_capture_on_commit_callbacks, enqueued
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(clinician_api, body(patient))

    assert response.status_code == 201
    assert callbacks, "the audit is scheduled for after the commit"
    assert enqueued["audit"] == [], "nothing may be enqueued before the commit"
    for callback in callbacks:
        callback()
    assert enqueued["audit"] == [response.json()["id"]]


def test_a_refused_submit_schedules_no_audit(clinician_api, patient, django_capture_on_commit_callbacks, enqueued):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(clinician_api, body(patient, doses=0))

    assert response.status_code == 400
    assert callbacks == [] and enqueued["audit"] == []


def test_a_broker_error_while_enqueueing_does_not_fail_the_submit(
    clinician_api, patient, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broker_down(app, name, *args, **kwargs):
        raise OperationalError("broker unreachable")

    monkeypatch.setattr("core.tasks.enqueue", enqueue)  # the real one, under the `enqueued` fixture's recorder
    monkeypatch.setattr("celery.app.base.Celery.send_task", broker_down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(clinician_api, body(patient))

    assert callbacks
    assert response.status_code == 201, response.content
    assert Prescription.objects.get(pk=response.json()["id"]).status == Stage.SUBMITTED
    assert any(record.levelname == "WARNING" and "sweep" in record.getMessage() for record in caplog.records)
