"""Conventions every /api/v1/ endpoint keeps: pagination, JSON errors, token auth, a schema."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import resolve
from rest_framework.mixins import ListModelMixin

from accounts.roles import Role
from accounts.services import api_token_issue
from catalogue.services import stock_receive
from prescriptions.services.drafting import PrescriptionForm
from tcm_platform.urls import api_v1

from .factories import PatientFactory, UserFactory

# Every route whose view lists (DRF's ListModelMixin) is checked; new ones are covered automatically.
LIST_ROUTES = [
    f"/api/v1/{pattern.pattern}"
    for pattern in api_v1
    if "<" not in str(pattern.pattern) and issubclass(getattr(pattern.callback, "cls", object), ListModelMixin)
]


@pytest.fixture
def root(county, catalogue):
    """A superuser holding every role (the clinical lists need one), with at least one patient
    and one stock batch for the lists to show."""
    user = UserFactory(username="root", is_superuser=True, institution=None, roles=list(Role.values))
    PatientFactory(institution=county["T001"]).allergies.set([catalogue.get(name="甘草")])
    stock_receive(
        pharmacy=county["P001"],
        herb=catalogue.get(name="甘草"),
        batch_no="GC-1",
        expiry_date=date(2099, 1, 1),
        quantity_g=Decimal("100"),
        actor=user,
    )
    return user


def test_the_api_has_list_endpoints_to_check():
    assert {
        "/api/v1/herbs/",
        "/api/v1/patients/",
        "/api/v1/stock/",
        "/api/v1/prescriptions/",
        "/api/v1/audit/queue/",
    } <= set(LIST_ROUTES)


@pytest.mark.parametrize("url", LIST_ROUTES)
def test_every_list_endpoint_is_paginated(api, root, url):
    api.force_login(root)

    response = api.get(url, {"page_size": 1})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert isinstance(body["results"], list)
    assert len(body["results"]) == min(1, body["count"])


# The list endpoints that take filters (a FilterSet); the others read no query parameter but the page.
FILTERED_ROUTES = [url for url in LIST_ROUTES if getattr(resolve(url).func.cls, "filterset_class", None)]


def test_the_api_has_filtered_lists_to_check():
    assert {"/api/v1/herbs/", "/api/v1/patients/", "/api/v1/stock/", "/api/v1/prescriptions/"} <= set(FILTERED_ROUTES)


@pytest.mark.parametrize("url", FILTERED_ROUTES)
def test_a_filter_given_twice_is_a_400_at_that_filter_not_its_last_value(api, root, url):
    """django-filter would quietly use the last value; the caller could not tell which one."""
    api.force_login(root)
    name = next(iter(resolve(url).func.cls.filterset_class.base_filters))

    response = api.get(f"{url}?{name}=1&{name}=2")

    body = assert_error_shape(response, 400)
    assert list(body["errors"]) == [name]


def assert_error_shape(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    return body


def test_invalid_input_is_reported_as_detail_and_errors_by_field(api, clinician, catalogue):
    api.force_login(clinician)

    response = api.post("/api/v1/patients/", {"name": "王小明", "mobile": "abc"}, content_type="application/json")

    body = assert_error_shape(response, 400)
    assert set(body["errors"]) >= {"mobile"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_serializer_type_errors_use_the_same_shape(api, clinician, catalogue):
    api.force_login(clinician)

    response = api.post(
        "/api/v1/patients/",
        {"name": "王小明", "mobile": "13912345678", "allergies": "甘草"},
        content_type="application/json",
    )

    assert "allergies" in assert_error_shape(response, 400)["errors"]


def test_missing_object_is_a_json_404(api, clinician, catalogue):
    api.force_login(clinician)

    assert_error_shape(api.get("/api/v1/herbs/999999999/"), 404)


def test_refused_capability_is_a_json_403(api, courier):
    api.force_login(courier)

    assert_error_shape(api.get("/api/v1/patients/"), 403)


def test_unsupported_method_is_a_json_405(api, clinician, catalogue):
    api.force_login(clinician)

    assert_error_shape(api.delete("/api/v1/patients/1/"), 405)


def test_a_body_without_a_content_type_is_a_json_415_and_the_schema_documents_it(api, clinician, catalogue):
    api.force_login(clinician)

    assert_error_shape(api.generic("POST", "/api/v1/patients/", b"name=x", content_type=""), 415)
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert "415" in schema["paths"]["/api/v1/patients/"]["post"]["responses"]


def test_anonymous_request_is_a_json_refusal(api, db):
    response = api.get("/api/v1/patients/")

    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_token_authentication_lets_a_client_call_the_api_without_a_session(client, clinician, catalogue):
    _, secret = api_token_issue(user=clinician, name="HIS")

    response = client.get("/api/v1/herbs/", {"q": "gc"}, HTTP_AUTHORIZATION=f"Token {secret}")

    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["name"] == "甘草"


def test_unknown_token_is_refused(client, clinician, catalogue):
    api_token_issue(user=clinician)

    response = client.get("/api/v1/herbs/", HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_schema_is_an_openapi_document_listing_the_endpoints(api, clinician):
    api.force_login(clinician)

    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/herbs/", "/api/v1/patients/", "/api/v1/stock/"} <= set(schema["paths"])


@pytest.mark.parametrize("suffix", ["cancel/", "revise/", "events/"])
def test_a_json_list_instead_of_an_object_is_a_400_not_a_500(api, clinician, county, catalogue, suffix, monkeypatch):
    from prescriptions.services import prescription_submit

    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    prescription, _ = prescription_submit(
        actor=clinician,
        patient=PatientFactory(institution=county["T001"]),
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "感冒"},
                "doses": 3,
                "usage": "每日1剂",
                "delivery": "pickup",
                "items": [{"herb": "桂枝", "grams": 9}],
            }
        ),
    )
    api.force_login(clinician)
    response = api.post(f"/api/v1/prescriptions/{prescription.pk}/{suffix}", [1, 2], content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]


BEYOND_64_BITS = 2**64 + 1


@pytest.mark.parametrize(
    ("persona", "method", "url", "body", "field"),
    [
        ("pharmacist", "post", "/api/v1/audit/batch-approve/", {"ids": [BEYOND_64_BITS]}, "ids[0]"),
        ("clinician", "get", f"/api/v1/prescriptions/?patient={BEYOND_64_BITS}", None, "patient"),
        ("clinician", "post", "/api/v1/prescriptions/", {"patient": BEYOND_64_BITS}, "patient"),
        ("clinician", "post", "/api/v1/prescriptions/", {"patient": 1, "formula": BEYOND_64_BITS}, "formula"),
    ],
)
def test_an_id_beyond_64_bits_is_a_400_at_its_field_not_a_500(
    request, api, catalogue, persona, method, url, body, field
):
    api.force_login(request.getfixturevalue(persona))

    if method == "post":
        response = api.post(url, body, content_type="application/json")
    else:
        response = api.get(url)

    assert field in assert_error_shape(response, 400)["errors"]
