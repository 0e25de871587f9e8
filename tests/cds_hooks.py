"""What the CDS Hooks tests share: a hospital system's requests built the way a HIS sends them
(a Bundle of draft MedicationRequests and a prefetch of FHIR resources), a token client, and the
CDS Hooks 2.0 card schema (interop/cds/response.schema.json) to check every answer against."""

import json
from pathlib import Path

from django.conf import settings
from django.test import Client
from jsonschema import Draft202012Validator

from accounts.services import api_token_issue

SCHEMA = json.loads((Path(settings.BASE_DIR) / "interop" / "cds" / "response.schema.json").read_text())
CARDS = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
DISCOVERY = "/cds-services"
SELECT = "/cds-services/tcm-herbal-order-select"
SIGN = "/cds-services/tcm-herbal-order-sign"
PATIENT_ID = "example-patient-1"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
LOINC = "http://loinc.org"
# Classical formulas at their textbook grams (catalogue/data/reference/formulas/formulas.csv,
# 《方剂学》): (id, herb, grams, decoction method). 四君子汤 would not do: its 茯苓 9 g is under the
# 药典's usual 10～15 g (that file's README lists the formulas whose grams leave the ranges).
SI_WU_TANG = [("danggui", "当归", 9, None), ("chuanxiong", "川芎", 6, None)]
SI_WU_TANG += [("baishao", "白芍", 9, None), ("shudihuang", "熟地黄", 12, None)]
SI_NI_TANG = [("zhigancao", "炙甘草", 6, None), ("ganjiang", "干姜", 6, None), ("fuzi", "附子", 15, "decoct_first")]


def system(name: str) -> str:
    return f"{settings.SITE_URL}/fhir/CodeSystem/{name}"


def order(rid, herb, grams=None, *, doses=7, method=None, herb_id=None) -> dict:
    """A draft MedicationRequest of one herb: its Chinese name (or its catalogue id, coded),
    grams per dose, decoction method (a special-decoction code) and number of doses."""
    concept = {"text": herb}
    if herb_id is not None:
        concept["coding"] = [{"system": system("herb"), "code": str(herb_id), "display": herb}]
    resource = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": concept,
    }
    dosage = {}
    if grams is not None:
        quantity = {"value": grams, "unit": "g", "system": "http://unitsofmeasure.org", "code": "g"}
        dosage["doseAndRate"] = [{"doseQuantity": quantity}]
    if method is not None:
        dosage["additionalInstruction"] = [{"coding": [{"system": system("special-decoction"), "code": method}]}]
    if dosage:
        resource["dosageInstruction"] = [dosage]
    if doses is not None:
        resource["dispenseRequest"] = {"quantity": {"value": doses}}
    return resource


def patient(gender="female", born="1980-03-15") -> dict:
    return {"resourceType": "Patient", "id": PATIENT_ID, "gender": gender, "birthDate": born}


def pregnancy(answer: str) -> dict:
    """A searchset Bundle with one pregnancy-status Observation (LOINC 82810-3)."""
    observation = {
        "resourceType": "Observation",
        "id": "preg-1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "82810-3", "display": "Pregnancy status"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": "2026-12-01",
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": answer}]},
    }
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": observation}]}


def allergies(*names, category="medication") -> dict:
    entries = [
        {
            "resource": {
                "resourceType": "AllergyIntolerance",
                "id": f"allergy-{index}",
                "category": [category],
                "code": {"text": name},
                "patient": {"reference": f"Patient/{PATIENT_ID}"},
            }
        }
        for index, name in enumerate(names)
    ]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def hook_request(orders, *, hook="order-sign", prefetch=None, selections=None) -> dict:
    context = {
        "userId": "Practitioner/example-1",
        "patientId": PATIENT_ID,
        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in orders]},
    }
    if hook == "order-select":
        context["selections"] = selections or [f"MedicationRequest/{orders[-1]['id']}"]
    return {
        "hook": hook,
        "hookInstance": HOOK_INSTANCE,
        "context": context,
        "prefetch": {"patient": patient()} if prefetch is None else prefetch,
    }


def token_client(user) -> Client:
    """A hospital system's client: a token of `user`, CSRF enforced, no session."""
    _token, secret = api_token_issue(user=user, name="HIS")
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Token {secret}"})


def call(client, url, body, status=200) -> dict:
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/json")
    answer = response.json()
    if status == 200:
        assert_valid_cards(answer)
    return answer


def assert_valid_cards(answer: dict) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in CARDS.iter_errors(answer)]
    assert errors == []


def cards_of(answer: dict, code: str) -> list[dict]:
    """The cards of one finding code (source.topic.code)."""
    return [card for card in answer["cards"] if card["source"].get("topic", {}).get("code") == code]
