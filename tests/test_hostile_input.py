"""Hostile input through the real URLs, as every persona and as an anonymous visitor: a NUL byte,
an unpaired surrogate, JSON nested 100,000 deep, a 100,000-character username, numbers that are
not finite, digits of other scripts where an id or a whole number is read, a 1 MB value. Each is a
400 (at its field where there is one) or the page's own error, never a 500, and nothing is
written. The rules live in core.input (core.middleware for the path, query string and forms)."""

import json

import pytest
from axes.models import AccessAttempt
from django.test import Client

from decoction.models import StationSettings
from patients.models import Patient
from prescriptions.models import Prescription, TraceEvent
from prescriptions.workflow import Stage

from .factories import PatientFactory
from .test_patients import form_data
from .test_prescription_api import body
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

PERSONAS = ["clinician", "pharmacist", "dispenser", "decoctor", "courier", "county_admin"]
DEEP = "[" * 100_000 + "]" * 100_000
MEGABYTE = "x" * 1_048_576


@pytest.fixture
def clients(request, catalogue):
    """A logged-in client per persona, and an anonymous one."""
    clients = {"anonymous": Client()}
    for persona in PERSONAS:
        clients[persona] = Client()
        clients[persona].force_login(request.getfixturevalue(persona))
    return clients


def post_json(client, url, data, **headers):
    text = data if isinstance(data, str) else json.dumps(data)
    return client.post(url, text, content_type="application/json", headers=headers)


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content[:300]
    return response.json()["errors"]


def refused_page(response):
    """A refused page: a 400 in the site's layout, not a trace."""
    assert response.status_code == 400, response.content[:300]
    assert b"topbar" in response.content


def written() -> dict:
    return {model.__name__: model.objects.count() for model in (Prescription, Patient, TraceEvent, AccessAttempt)}


def test_a_nul_byte_in_any_path_answers_400_not_500(clients, clinician):
    tracked = prescription_at(clinician, Stage.SUBMITTED)
    for who, client in clients.items():
        for path in ["/t/%00/", f"/t/{tracked.tracking_token}%00/", "/api/v1/track/%00/", "/t/%00/qr.png"]:
            assert client.get(path).status_code == 400, (who, path)
        refused_page(client.get("/prescriptions/%00/"))
        assert errors_of(client.get("/api/v1/prescriptions/%00/")) == {}, who


def test_a_nul_byte_in_a_query_string_answers_400_at_the_parameter(clients):
    for who, client in clients.items():
        refused_page(client.get("/catalogue/herbs/", {"q": "\x00"}))
        refused_page(client.get("/patients/", {"q": "甘\x00"}))
        refused_page(client.get("/healthz", {"\x00": "1"}))
        if who == "anonymous":
            continue
        assert errors_of(client.get("/api/v1/herbs/", {"q": "\x00"})).keys() == {"q"}, who
        for name in ["q", "status", "patient", "date_from", "date_to", "page"]:
            assert errors_of(client.get("/api/v1/prescriptions/", {name: "2024\x00"})).keys() == {name}, (who, name)


def test_a_nul_byte_in_a_page_form_answers_400_and_writes_nothing(clients, clinician):
    before = written()

    refused_page(clients["clinician"].post("/patients/new/", form_data(name="王\x00小明")))
    refused_page(clients["anonymous"].post("/login/", {"username": "clinician\x00", "password": "x"}))
    prescription = prescription_at(clinician, Stage.RECHECKED)
    before = written()
    refused_page(
        clients["decoctor"].post(
            "/stations/soaking/", {"prescription": prescription.pk, "stage": Stage.SOAKING, "tank": "T-01\x00"}
        )
    )

    assert written() == before
    prescription.refresh_from_db()
    assert prescription.status == Stage.RECHECKED


def test_a_nul_byte_in_a_json_string_is_a_400_at_its_field_and_nothing_is_written(clients, clinician, county):
    patient = prescription_at(clinician, Stage.SUBMITTED).patient
    to_soak = prescription_at(clinician, Stage.RECHECKED, patient=patient)
    to_decide = prescription_at(clinician, Stage.AI_AUDITED, patient=patient)
    before = written()

    data = body(patient, items=[{"herb": "党\x00参", "grams": 9}])
    errors = errors_of(post_json(clients["clinician"], "/api/v1/prescriptions/", data))
    assert list(errors) == ["items[0].herb"] and "NUL" in errors["items[0].herb"][0]
    url = f"/api/v1/prescriptions/{to_soak.pk}/events/"
    assert errors_of(post_json(clients["decoctor"], url, {"stage": Stage.SOAKING, "tank": "T\x00"})).keys() == {"tank"}
    data = {"stage": Stage.SOAKING, "tank": "T", "idempotency_key": "\x00"}
    assert errors_of(post_json(clients["decoctor"], url, data)).keys() == {"idempotency_key"}
    decision = {"decision": "reject", "reasons": ["剂量\x00过大"]}
    url = f"/api/v1/audit/{to_decide.pk}/decision/"
    assert errors_of(post_json(clients["pharmacist"], url, decision)).keys() == {"reasons[0]"}
    url = f"/api/v1/prescriptions/{to_decide.pk}/cancel/"
    assert errors_of(post_json(clients["clinician"], url, {"reason": "患者\x00要求"})).keys() == {"reason"}
    track = f"/api/v1/track/{to_decide.tracking_token}/"
    assert post_json(clients["anonymous"], track, {"last4": "\x00"}).status_code == 400

    assert written() == before
    assert {p.status for p in Prescription.objects.filter(pk__in=[to_soak.pk, to_decide.pk])} == {
        Stage.RECHECKED,
        Stage.AI_AUDITED,
    }


def test_an_unpaired_surrogate_in_json_is_a_400_at_its_field(clients, clinician):
    patient = prescription_at(clinician, Stage.SUBMITTED).patient
    before = written()

    raw = json.dumps(body(patient, items=[{"herb": "\ud800", "grams": 9}]))  # json escapes it as \ud800
    assert errors_of(post_json(clients["clinician"], "/api/v1/prescriptions/", raw)).keys() == {"items[0].herb"}
    raw = json.dumps({"username": "\udfff", "password": "x"})
    assert errors_of(post_json(clients["anonymous"], "/api/v1/auth/token/", raw)).keys() == {"username"}

    assert written() == before


def test_json_nested_100000_deep_is_a_400_for_a_persona_and_for_the_anonymous_token_endpoint(clients, clinician):
    prescription = prescription_at(clinician, Stage.RECHECKED)
    before = written()

    assert post_json(clients["anonymous"], "/api/v1/auth/token/", DEEP).status_code == 400
    assert post_json(clients["anonymous"], f"/api/v1/track/{prescription.tracking_token}/", DEEP).status_code == 400
    assert post_json(clients["clinician"], "/api/v1/prescriptions/", DEEP).status_code == 400
    precheck = '{"items": ' + "[" * 70 + "]" * 70 + "}"
    assert post_json(clients["clinician"], "/api/v1/prescriptions/precheck/", precheck).status_code == 400
    nested = '{"stage": "soaking", "tank": ' + "[" * 65 + "]" * 65 + "}"
    response = post_json(clients["decoctor"], f"/api/v1/prescriptions/{prescription.pk}/events/", nested)
    assert response.status_code == 400

    assert written() == before


def test_a_100000_character_username_is_refused_at_login_and_token_before_anything_looks_it_up(clients, clinician):
    before = written()

    response = clients["anonymous"].post("/login/", {"username": "a" * 100_000, "password": "x"})
    assert response.status_code == 400 and len(response.content) < 50_000
    response = clients["anonymous"].post("/login/", {"username": "a" * 151, "password": "x"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    for username in ["a" * 100_000, "a" * 151]:
        response = post_json(clients["anonymous"], "/api/v1/auth/token/", {"username": username, "password": "x"})
        assert errors_of(response).keys() == {"username"}
        assert len(response.content) < 1_000
    response = clients["anonymous"].post("/api/v1/auth/token/", {"username": "a" * 1_000, "password": "x"})
    assert errors_of(response).keys() == {"username"}

    assert written() == before  # no failed attempt stored for axes: nothing looked the username up


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_is_a_400_at_its_field(clients, clinician, number):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    before = written()

    text = json.dumps(body(prescription.patient, doses=0)).replace('"doses": 0', f'"doses": {number}')
    assert errors_of(post_json(clients["clinician"], "/api/v1/prescriptions/", text)).keys() == {"doses"}
    text = '{"patient": {"sex": "F", "age_years": 30}, "consult": {"weight_kg": %s}, "items": []}' % number
    assert "consult.weight_kg" in errors_of(post_json(clients["clinician"], "/api/v1/prescriptions/precheck/", text))
    text = '{"stage": "packaged", "bags": %s, "ml_per_bag": 200, "ack_reason": "x"}' % number
    url = f"/api/v1/prescriptions/{prescription.pk}/events/"
    assert errors_of(post_json(clients["decoctor"], url, text)).keys() == {"bags"}

    assert written() == before


@pytest.mark.parametrize("digits", ["²", "١٢", "１２", "1²"])
def test_digits_of_other_scripts_are_no_id_in_a_path_a_query_or_json(clients, clinician, county_admin, digits):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    for who in ["clinician", "county_admin"]:
        client = clients[who]
        assert client.get(f"/api/v1/prescriptions/{digits}/").status_code == 404
        assert errors_of(client.get("/api/v1/prescriptions/", {"patient": digits})).keys() == {"patient"}
    stock = clients["county_admin"].get("/api/v1/stock/", {"herb": digits, "pharmacy": digits})
    assert errors_of(stock).keys() == {"herb", "pharmacy"}
    response = clients["clinician"].get("/prescriptions/new/", {"patient": digits})
    assert response.status_code == 200  # the patient choice, as for any id that names no patient
    assert response.context["patient"] is None
    response = clients["decoctor"].get("/stations/packaging/", {"code": f"{prescription.number}-v{digits}"})
    assert response.status_code == 200
    response = clients["decoctor"].post("/stations/packaging/", {"prescription": digits, "stage": Stage.PACKAGED})
    assert response.status_code == 404
    response = post_json(clients["pharmacist"], "/api/v1/audit/batch-approve/", {"ids": [digits]})
    assert errors_of(response).keys() == {"ids[0]"}
    text = json.dumps(body(prescription.patient, doses=digits))
    assert errors_of(post_json(clients["clinician"], "/api/v1/prescriptions/", text)).keys() == {"doses"}


def test_a_1_mb_value_is_not_echoed_back_in_an_error(clients, clinician):
    patient = prescription_at(clinician, Stage.SUBMITTED).patient
    before = written()

    for values in [
        {"items": [{"herb": MEGABYTE, "grams": 9}]},
        {"decoction": MEGABYTE},
        {"consult": {"tcm_disease": "感冒", "pregnancy": MEGABYTE}},
    ]:
        response = post_json(clients["clinician"], "/api/v1/prescriptions/", body(patient, **values))
        assert response.status_code == 400
        assert len(response.content) < 5_000, list(values)
    response = clients["clinician"].get("/api/v1/prescriptions/", {"status": "x" * 5_000})
    assert errors_of(response).keys() == {"status"} and len(response.content) < 5_000
    refused_page(clients["clinician"].post("/patients/new/", form_data(notes=MEGABYTE)))

    assert written() == before


def test_each_bad_list_filter_is_a_400_keyed_by_that_filter_alone(clients):
    lists = {
        "/api/v1/prescriptions/": {"status": "x", "patient": "١٢", "date_from": "x", "date_to": "31/12/2024"},
        "/api/v1/stock/": {"herb": "１", "pharmacy": "2.9"},
        "/api/v1/formulas/": {"kind": "x"},
        "/api/v1/herbs/": {"include_inactive": "1\x00", "q": "x" * 3_000},
    }
    for url, bad in lists.items():
        client = clients["clinician" if url == "/api/v1/formulas/" else "county_admin"]
        for name, value in bad.items():
            assert errors_of(client.get(url, {name: value})).keys() == {name}, (url, name)
        assert errors_of(client.get(url, bad)).keys() == set(bad), url


@pytest.mark.parametrize("bags", [2.9, "2.9", 0.5])
def test_bags_that_are_not_a_whole_number_are_refused_at_bags_not_stored_cut_down(clients, clinician, bags):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    before = written()

    url = f"/api/v1/prescriptions/{prescription.pk}/events/"
    data = {"stage": Stage.PACKAGED, "bags": bags, "ml_per_bag": 200, "ack_reason": "测试"}
    assert errors_of(post_json(clients["decoctor"], url, data)).keys() == {"bags"}

    assert written() == before
    assert Prescription.objects.get(pk=prescription.pk).status == Stage.DECOCTING


def test_ml_per_bag_that_is_not_a_whole_number_is_refused_at_ml_per_bag(clients, clinician):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    low, high = StationSettings.window(StationSettings.current().adult_ml)

    url = f"/api/v1/prescriptions/{prescription.pk}/events/"
    data = {"stage": Stage.PACKAGED, "bags": 14, "ml_per_bag": low + 0.5, "ack_reason": "测试"}
    assert errors_of(post_json(clients["decoctor"], url, data)).keys() == {"ml_per_bag"}
    data["ml_per_bag"] = low
    response = post_json(clients["decoctor"], url, data)
    assert response.status_code == 201, response.content
    assert response.json()["data"]["bags"] == 14 and response.json()["data"]["ml_per_bag"] == low


def test_a_nul_byte_in_a_cookie_or_a_header_is_no_500(client, clinician):
    """A session cookie with a NUL is no session (the database would refuse the lookup); a NUL in
    another header (a token, an idempotency key) is a 400 naming the header."""
    client.cookies["sessionid"] = "abcdefgh\x00ijk"
    assert client.get("/").status_code == 302  # to the sign-in page, as without a cookie
    client.cookies.clear()
    refused = client.get("/api/v1/prescriptions/", HTTP_AUTHORIZATION="Token abc\x00def")
    assert refused.status_code == 400 and "Authorization" in refused.json()["errors"]
    client.force_login(clinician)
    before = Prescription.objects.count()
    response = client.post(
        "/api/v1/prescriptions/", data={}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k\x00y"
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]
    assert Prescription.objects.count() == before


@pytest.mark.parametrize("key", [0, 12.5, ["a"], {"a": 1}, "k" * 65])
def test_an_idempotency_key_that_is_not_text_of_at_most_64_characters_is_a_400_not_converted(clients, clinician, key):
    """Converted or cut, two different keys could become one and a retry would find the wrong step."""
    patient = PatientFactory(institution=clinician.institution)
    before = Prescription.objects.count()

    response = post_json(clients["clinician"], "/api/v1/prescriptions/", {**body(patient), "idempotency_key": key})

    assert response.status_code == 400 and "idempotency_key" in response.json()["errors"], response.content
    assert Prescription.objects.count() == before


@pytest.mark.parametrize("tank", [0, {}, ["T1"]])
def test_a_number_or_an_object_for_a_text_field_of_a_step_is_a_400_at_it_not_stored_as_text(clients, clinician, tank):
    to_soak = prescription_at(clinician, Stage.RECHECKED)
    before = written()

    response = post_json(
        clients["decoctor"], f"/api/v1/prescriptions/{to_soak.pk}/events/", {"stage": "soaking", "tank": tank}
    )

    assert errors_of(response).keys() == {"tank"}
    assert written() == before
