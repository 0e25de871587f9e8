"""The CDS Hooks services refuse what they cannot read: each malformed hook request or prefetch is
a 400 with the refused field at its JSON path, an unknown service a 404, another method a 405, a
body that is not JSON a 400 (415 when it is not even sent as JSON) — and never a 500, whatever
the shape sent. Only a token of a role that may prescribe gets past; CSRF never stops a token."""

import copy
import json

import pytest
from django.test import Client

from catalogue.models import Herb

from .cds_hooks import (
    DISCOVERY,
    SELECT,
    SIGN,
    allergies,
    assert_valid_cards,
    call,
    hook_request,
    order,
    patient,
    pregnancy,
    system,
    token_client,
)

pytestmark = pytest.mark.usefixtures("catalogue")

ENTRY = "context.draftOrders.entry"
DOSE = "dosageInstruction[0].doseAndRate[0].doseQuantity"
ORDERS = [order("gancao", "甘草", 6, doses=3, method="decoct_first"), order("gansui", "甘遂", 1, doses=3)]


@pytest.fixture
def his(clinician):
    return token_client(clinician)


def errors(client, body, url=SIGN) -> dict:
    answer = call(client, url, body, status=400)
    assert isinstance(answer["detail"], str) and answer["detail"]
    return answer["errors"]


def changed(body: dict, path: tuple, value) -> dict:
    """`body` with the value at `path` (keys and indexes) replaced, or removed for REMOVE."""
    body = copy.deepcopy(body)
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if value is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


REMOVE = object()
VALID = hook_request(ORDERS, prefetch={"patient": patient(), "pregnancy": pregnancy("LA26683-5")})
RESOURCE = ("context", "draftOrders", "entry", 0, "resource")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("hook",), "order-select", "hook"),
        (("hook",), REMOVE, "hook"),
        (("hookInstance",), "not-a-uuid", "hookInstance"),
        (("context",), [], "context"),
        (("context", "userId"), 7, "context.userId"),
        (("context", "patientId"), REMOVE, "context.patientId"),
        (("context", "selections"), [1], "context.selections[0]"),  # order-sign has none: if sent, checked alike
        (("context", "draftOrders"), REMOVE, "context.draftOrders"),
        (("context", "draftOrders", "resourceType"), "MedicationRequest", "context.draftOrders.resourceType"),
        (("context", "draftOrders", "entry"), [], ENTRY),
        (("context", "draftOrders", "entry", 1), "甘遂", f"{ENTRY}[1]"),
        ((*RESOURCE, "id"), "has space", f"{ENTRY}[0].resource.id"),
        ((*RESOURCE, "medicationCodeableConcept"), REMOVE, f"{ENTRY}[0].resource.medicationCodeableConcept"),
        ((*RESOURCE, "dosageInstruction"), {"dose": 6}, f"{ENTRY}[0].resource.dosageInstruction"),
        ((*RESOURCE, "dosageInstruction"), REMOVE, f"{ENTRY}[0].resource.{DOSE}"),
        (
            (*RESOURCE, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "value"),
            "6",
            f"{ENTRY}[0].resource.{DOSE}.value",
        ),
        (
            (*RESOURCE, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "value"),
            0,
            f"{ENTRY}[0].resource.{DOSE}.value",
        ),
        (
            (*RESOURCE, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "unit"),
            "mg",
            f"{ENTRY}[0].resource.{DOSE}",
        ),
        (
            (*RESOURCE, "dosageInstruction", 0, "additionalInstruction", 0, "coding", 0, "code"),
            "boil_forever",
            f"{ENTRY}[0].resource.dosageInstruction[0].additionalInstruction[0].coding[0].code",
        ),
        (
            (*RESOURCE, "dispenseRequest", "quantity", "value"),
            61,
            f"{ENTRY}[0].resource.dispenseRequest.quantity.value",
        ),
        ((*RESOURCE, "dispenseRequest", "quantity", "value"), 5, f"{ENTRY}[1].resource.dispenseRequest.quantity.value"),
        (("prefetch",), "Patient/1", "prefetch"),
        (("prefetch", "patient", "birthDate"), "15/03/1980", "prefetch.patient.birthDate"),
        (("prefetch", "patient", "birthDate"), "2999-01-01", "prefetch.patient.birthDate"),
        (("prefetch", "patient", "gender"), "F", "prefetch.patient.gender"),
        (("prefetch", "patient", "id"), "someone-else", "prefetch.patient.id"),
        (("prefetch", "patient", "resourceType"), "Practitioner", "prefetch.patient.resourceType"),
        (
            ("prefetch", "pregnancy", "entry", 0, "resource", "valueCodeableConcept", "coding", 0, "code"),
            "yes",
            "prefetch.pregnancy.entry[0].resource.valueCodeableConcept",
        ),
        (("prefetch", "allergies"), {"resourceType": "Patient"}, "prefetch.allergies.resourceType"),
    ],
)
def test_a_malformed_order_sign_request_is_a_400_at_the_path_of_the_refused_field(his, path, value, field):
    assert field in errors(his, changed(VALID, path, value))


def test_a_pregnant_male_is_refused_at_the_pregnancy_of_the_prefetch_as_the_precheck_refuses_it(his):
    prefetch = {"patient": patient(gender="male"), "pregnancy": pregnancy("LA15173-0")}

    assert "prefetch.pregnancy" in errors(his, hook_request(ORDERS, prefetch=prefetch))


def test_order_select_needs_selections_naming_orders_of_the_draft(his):
    body = hook_request(ORDERS, hook="order-select", selections=["MedicationRequest/gansui", "MedicationRequest/x"])

    assert list(errors(his, body, url=SELECT)) == ["context.selections[1]"]
    assert "context.selections" in errors(his, changed(body, ("context", "selections"), REMOVE), url=SELECT)


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("", "application/json", 400),
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"order-sign"', "application/json", 400),
        ("null", "application/json", 400),
        ("hook=order-sign", "application/x-www-form-urlencoded", 415),
        ("hook order-sign", "text/plain", 415),
    ],
)
def test_a_body_that_is_no_json_object_is_refused_in_the_apis_error_envelope(his, data, content_type, status):
    response = his.generic("POST", SIGN, data, content_type=content_type)

    assert response.status_code == status
    assert set(response.json()) == {"detail", "errors"}


def test_an_unknown_service_is_a_404_and_another_method_a_405_both_in_json(his):
    unknown = his.post("/cds-services/tcm-herbal-order-dispense", VALID, content_type="application/json")

    assert (unknown.status_code, unknown.json()["errors"]) == (404, {})
    assert his.get(SIGN).status_code == 405
    assert his.post(DISCOVERY, {}, content_type="application/json").status_code == 405
    assert his.get(SIGN).json()["detail"]


def test_the_services_answer_without_a_trailing_slash_and_a_post_is_never_redirected(his):
    assert his.post(SIGN, VALID, content_type="application/json").status_code == 200
    assert his.post(f"{SIGN}/", VALID, content_type="application/json").status_code == 404


def test_only_a_token_of_a_role_that_may_prescribe_is_answered(pharmacist, dispenser, courier, clinician):
    for user in (pharmacist, dispenser, courier):
        refused = token_client(user).post(SIGN, VALID, content_type="application/json")
        assert refused.status_code == 403 and refused.json()["detail"], user
    assert Client().post(SIGN, VALID, content_type="application/json").status_code == 403
    wrong = Client(headers={"Authorization": "Token not-a-token"}).post(SIGN, VALID, content_type="application/json")
    assert wrong.status_code == 403
    call(token_client(clinician), SIGN, VALID)  # the CSRF-enforcing client: a token needs no CSRF token


def test_an_allergy_that_names_no_herb_is_the_engines_unrecognised_allergy_warning_not_an_error(his):
    body = hook_request([order("baizhu", "白术", 9)], prefetch={"patient": patient(), "allergies": allergies("青霉素")})

    answer = call(his, SIGN, body)

    codes = [(c["indicator"], c["source"]["topic"]["code"]) for c in answer["cards"]]
    assert codes == [("warning", "allergy.unrecognised")]


def test_missing_or_null_prefetch_values_are_unknown_facts_with_a_notice(his):
    answer = call(his, SIGN, hook_request(ORDERS, prefetch={"patient": None, "allergies": None, "pregnancy": None}))

    notices = [card for card in answer["cards"] if "topic" not in card["source"]]
    assert [card["indicator"] for card in notices] == ["info"]
    assert any(card["indicator"] == "critical" for card in answer["cards"])


JUNK = (None, 0, -1, 1.5, 10**30, True, "", "x", [], [None], [{}], {}, {"resourceType": "Bundle"})


def leaf_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaf_paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from leaf_paths(inner, (*path, index))


def test_no_shape_of_request_is_a_500_every_answer_is_a_400_or_valid_cards(his):
    """Every value of a valid request, at every level, replaced by each junk value or removed."""
    body = hook_request(
        ORDERS, prefetch={"patient": patient(), "pregnancy": pregnancy("LA15173-0"), "allergies": allergies("白术")}
    )
    statuses = set()
    for path in list(leaf_paths(body))[1:]:
        for value in (*JUNK, REMOVE):
            response = his.post(SIGN, json.dumps(changed(body, path, value)), content_type="application/json")
            statuses.add(response.status_code)
            assert response.status_code in (200, 400), (path, value, response.content[:300])
            if response.status_code == 200:
                assert_valid_cards(response.json())
            else:
                assert response.json()["errors"], (path, value)
    assert statuses == {200, 400}


def test_a_herb_code_longer_than_any_herb_id_is_a_400_and_a_name_longer_than_any_herbs_is_not_checked(his):
    huge = order("huge", "", 6, doses=3, herb_id="9" * 40)
    del huge["medicationCodeableConcept"]["text"]
    long_name = order("long", "很长的一个西药商品名称" * 10, 6, doses=3)

    refused = errors(his, hook_request([huge]))
    answer = call(his, SIGN, hook_request([order("baizhu", "白术", 9, doses=3), long_name]))

    assert f"{ENTRY}[0].resource.medicationCodeableConcept.coding[0].code" in refused
    (notice,) = answer["cards"]
    assert notice["indicator"] == "info" and "很长的一个西药商品名称" in notice["summary"]
    assert len(notice["detail"]) < 200


def test_an_allergy_coded_by_the_catalogue_id_of_a_herb_is_that_herbs_allergy(his):
    baizhu = Herb.objects.get(name="白术")
    coded = allergies("")
    coded["entry"][0]["resource"]["code"] = {"coding": [{"system": system("herb"), "code": str(baizhu.pk)}]}

    answer = call(
        his, SIGN, hook_request([order("baizhu", "白术", 9)], prefetch={"patient": patient(), "allergies": coded})
    )

    assert [(c["indicator"], c["source"]["topic"]["code"]) for c in answer["cards"]] == [("critical", "allergy")]


def test_order_sign_needs_the_number_of_doses_on_one_line_at_least(his):
    orders = [order("gancao", "甘草", 6, doses=None), order("baizhu", "白术", 9, doses=None)]

    assert list(errors(his, hook_request(orders))) == [f"{ENTRY}[0].resource.dispenseRequest.quantity.value"]
    assert call(his, SIGN, hook_request([orders[0], order("baizhu", "白术", 9, doses=5)])) == {"cards": []}
