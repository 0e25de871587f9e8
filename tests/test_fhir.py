"""The FHIR R4 read API (interop.fhir, docs/interop-fhir.md): who may read what, the search and its
paging, the resources of a prescription that is still on its way, and every refusal as an
OperationOutcome with the right status. Every answer is validated with fhir.resources' R4B models
(tests/fhir.py); a delivered prescription's whole story is tests/test_fhir_everything.py's."""

from datetime import datetime
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.services import audit_decide, audit_run
from catalogue.models import Herb
from patients.models import Patient
from prescriptions.models import Prescription
from prescriptions.services import prescription_cancel, prescription_submit
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.services.trace import record_event
from prescriptions.workflow import Stage

from .factories import PatientFactory
from .fhir import FHIR_JSON, outcome, read
from .test_api_day import app
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache", "catalogue")

BASE = "http://testserver/fhir"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "http://testserver"


def line_ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", ())]


def search(client, query: str) -> dict:
    return read(client, f"/fhir/MedicationRequest?{query}")


def test_metadata_is_open_to_anyone_and_states_what_the_server_reads():
    statement = read(Client(), "/fhir/metadata")

    assert (statement["resourceType"], statement["fhirVersion"], statement["kind"]) == (
        "CapabilityStatement",
        "4.0.1",
        "instance",
    )
    (rest,) = statement["rest"]
    resources = {resource["type"]: resource for resource in rest["resource"]}
    assert {param["name"] for param in resources["MedicationRequest"]["searchParam"]} == {
        "patient",
        "status",
        "_lastUpdated",
        "group-identifier",
        "_count",
        "_offset",
    }
    assert [op["name"] for op in resources["MedicationRequest"]["operation"]] == ["everything"]
    assert {"Patient", "Task", "Provenance", "DetectedIssue", "MedicationDispense"} <= set(resources)


def test_without_a_valid_token_or_without_the_patient_reading_role_every_read_is_a_403_outcome(
    clinician, dispenser, courier
):
    p = prescription_at(clinician, Stage.APPROVED)
    urls = ["/fhir/MedicationRequest", f"/fhir/MedicationRequest/{p.pk}-1", f"/fhir/Patient/{p.patient_id}"]
    forged = Client(headers={"Authorization": "Token not-a-token"})

    for url in urls:
        outcome(Client(), url, 403, "login")
        outcome(forged, url, 403, "login")
        outcome(app(dispenser), url, 403, "forbidden")
        outcome(app(courier), url, 403, "forbidden")


def test_another_institutions_prescription_reads_as_if_it_did_not_exist(clinician, outsider):
    p = prescription_at(clinician, Stage.SUBMITTED, herbs=[("党参", "10"), ("薄荷", "6")])
    audit_run(prescription_id=p.pk)
    missing = Prescription.objects.order_by("-pk").first().pk + 1000
    theirs = app(outsider)
    urls = {
        "MedicationRequest/{}-1",
        "MedicationRequest/{}-1/$everything",
        "Task/{}-submitted",
        "Provenance/{}-1",
        "DetectedIssue/{}-1",
    }

    for url in urls:
        assert read(app(clinician), f"/fhir/{url.format(p.pk)}")["resourceType"] != "OperationOutcome"
        hidden = outcome(theirs, f"/fhir/{url.format(p.pk)}", 404, "not-found")
        assert hidden == outcome(theirs, f"/fhir/{url.format(missing)}", 404, "not-found")
    hidden = outcome(theirs, f"/fhir/Patient/{p.patient_id}", 404, "not-found")
    assert p.patient.name not in str(hidden) and p.number not in str(hidden)
    assert search(theirs, f"patient={p.patient_id}")["total"] == 0
    assert search(theirs, f"group-identifier={p.number}")["total"] == 0


def test_an_unknown_id_or_resource_type_is_a_404_outcome_never_a_500(clinician):
    p = prescription_at(clinician, Stage.SUBMITTED)
    mine = app(clinician)
    for url in [
        f"MedicationRequest/{p.pk}-99",
        f"MedicationRequest/{p.pk}",
        "MedicationRequest/abc",
        "MedicationRequest/0-1",
        f"MedicationRequest/{2**70}-1",
        f"MedicationRequest/{p.pk}-99/$everything",
        f"Task/{p.pk}-shipped",
        f"Task/{p.pk}-no-such-stage",
        f"Provenance/{p.pk}-9",
        f"MedicationDispense/{p.pk}-1",
        "Patient/abc",
        f"Patient/{2**70}",
        "Practitioner/0",
        "Organization/-1",
        f"Patient/0{clinician.pk}",
        "CodeSystem/nothing",
    ]:
        outcome(mine, f"/fhir/{url}", 404, "not-found")
    outcome(mine, "/fhir/Medication/1", 404, "not-supported")
    outcome(mine, "/fhir/MedicationRequest/", 404, "not-supported")
    outcome(Client(), "/fhir/", 404, "not-supported")


def test_a_parameter_the_server_does_not_support_is_a_400_not_supported(clinician):
    p = prescription_at(clinician, Stage.SUBMITTED)
    mine = app(clinician)
    for query in ["code=123", "status:not=active", "_sort=-_lastUpdated", "_lastUpdated=ne2026-01-01", "subject=1"]:
        outcome(mine, f"/fhir/MedicationRequest?{query}", 400, "not-supported")
    outcome(mine, f"/fhir/MedicationRequest/{p.pk}-1?_elements=id", 400, "not-supported")
    outcome(mine, f"/fhir/Patient/{p.patient_id}?name=x", 400, "not-supported")


def test_a_value_the_server_cannot_read_is_a_400_invalid(clinician):
    mine = app(clinician)
    for query in [
        "status=finished",
        "_count=-1",
        "_count=2.5",
        "_offset=abc",
        "patient=abc",
        "patient=Patient/x",
        "patient=1&patient=2",
        "_lastUpdated=ge2026-13-01",
        "_lastUpdated=2026-02-30",
        "_lastUpdated=ge2026-01-01T25:00",
        "_lastUpdated=ge2026-01-01T08:00+99:00",
        "_lastUpdated=9999-12-31",
        "_lastUpdated=xx2026",
        "_lastUpdated=yesterday",
    ]:
        outcome(mine, f"/fhir/MedicationRequest?{query}", 400, "invalid")
    outcome(Client(), "/fhir/metadata?_pretty=yes", 400, "invalid")
    outcome(Client(), "/fhir/metadata?_format=json&_format=json", 400, "invalid")


def test_only_json_is_answered_in_whichever_way_a_client_asks_for_it(clinician):
    p = prescription_at(clinician, Stage.SUBMITTED)
    mine, url = app(clinician), f"/fhir/MedicationRequest/{p.pk}-1"

    for query in ["_format=json", "_format=application/fhir%2Bjson", "_format=application/fhir+json"]:
        assert read(mine, f"{url}?{query}")["id"] == f"{p.pk}-1"
    for accept in ["application/json", "application/fhir+json", "text/html,application/xml;q=0.9,*/*;q=0.8"]:
        assert read(mine, url, HTTP_ACCEPT=accept)["id"] == f"{p.pk}-1"
    outcome(mine, f"{url}?_format=xml", 406, "not-supported")
    outcome(mine, url, 406, "not-supported", HTTP_ACCEPT="application/fhir+xml")
    outcome(mine, url, 406, "not-supported", HTTP_ACCEPT="application/fhir+json;q=0")
    assert read(mine, f"{url}?_format=json", HTTP_ACCEPT="application/fhir+xml")["id"]  # _format wins
    assert "\n  " in mine.get(f"{url}?_pretty=true").content.decode()
    refused = mine.post("/fhir/MedicationRequest", {}, content_type="application/fhir+json")
    assert refused.status_code == 405 and refused.json()["issue"][0]["code"] == "not-supported"


def test_what_the_platform_refuses_before_any_view_is_an_outcome_too(clinician, monkeypatch):
    p = prescription_at(clinician, Stage.SUBMITTED)
    mine, url = app(clinician), f"/fhir/MedicationRequest/{p.pk}-1"

    outcome(mine, "/fhir/MedicationRequest?patient=1%00", 400, "invalid")
    outcome(mine, url, 400, "invalid", HTTP_IDEMPOTENCY_KEY="a\x00b")

    def away(*args, **kwargs):
        raise OperationalError("the database is restarting")

    monkeypatch.setattr("interop.fhir.selectors.prescription_detail", away)
    response = mine.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json()["issue"][0]["code"] == "transient" and response["Content-Type"] == FHIR_JSON


@pytest.fixture
def three(clinician, pharmacist):
    """Two prescriptions of one patient (one active, one cancelled) and one delivered of another,
    the delivered one last changed on 1 January 2020."""
    patient = PatientFactory(institution=clinician.institution)
    active = prescription_at(clinician, Stage.APPROVED, patient=patient)
    cancelled = prescription_at(clinician, Stage.SUBMITTED, patient=patient)
    prescription_cancel(actor=clinician, prescription=cancelled, reason="患者要求")
    delivered = prescription_at(clinician, Stage.PACKAGED)
    for stage in (Stage.SHIPPED, Stage.DELIVERED):
        record_event(prescription=delivered, stage=stage)
    long_ago = timezone.make_aware(datetime(2020, 1, 1, 9, 30))
    # Test setup, as prescription_at's: delivered, and last changed long ago.
    Prescription.objects.filter(pk=delivered.pk).update(status=Stage.DELIVERED, updated_at=long_ago)
    return active, cancelled, delivered


def test_the_search_narrows_by_patient_status_last_change_and_number(clinician, three):
    active, cancelled, delivered = three
    mine = app(clinician)

    def found(query):
        return sorted(line_ids(search(mine, query)))

    def lines(*prescriptions):
        return sorted(f"{p.pk}-{position}" for p in prescriptions for position in (1, 2))

    assert found(f"patient={active.patient_id}") == lines(active, cancelled)
    assert found(f"patient=Patient/{active.patient_id}&status=active") == lines(active)
    assert found(f"patient={BASE}/Patient/{active.patient_id}&status=cancelled,stopped") == lines(cancelled)
    assert found("status=completed") == lines(delivered)
    assert found("status=on-hold") == []
    assert found(f"group-identifier={active.number}") == lines(active)
    assert found(f"group-identifier={BASE}/sid/prescription-number|{active.number}") == lines(active)
    assert found(f"group-identifier=urn:other|{active.number}") == []
    assert found("_lastUpdated=lt2020-01-02") == lines(delivered)
    assert found("_lastUpdated=2020-01") == lines(delivered)
    assert found("_lastUpdated=ge2020-01-01T09:30:00%2B08:00&_lastUpdated=le2020-01-01T09:30:00%2B08:00") == lines(
        delivered
    )
    assert found("_lastUpdated=gt2020-01-01") == lines(active, cancelled)
    assert found("_lastUpdated=lt2020-01-01T09:30:01+08:00") == lines(delivered)  # the "+" unencoded
    statuses = {entry["resource"]["status"] for entry in search(mine, "_count=100")["entry"]}
    assert statuses == {"active", "cancelled", "completed"}


def test_the_search_pages_with_a_total_and_next_and_previous_links(clinician, three):
    mine = app(clinician)
    first = search(mine, "_count=4")
    assert first["total"] == 6 and len(first["entry"]) == 4
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "first", "next"}

    def follow(url):
        assert url.startswith(f"{BASE}/MedicationRequest?")
        return read(mine, urlsplit(url).path + "?" + urlsplit(url).query)

    second = follow(links["next"])
    assert len(second["entry"]) == 2 and second["total"] == 6
    back = {link["relation"]: link["url"] for link in second["link"]}
    assert "next" not in back and line_ids(follow(back["previous"])) == line_ids(first)
    assert len(set(line_ids(first) + line_ids(second))) == 6
    counted = search(mine, "_count=0")
    assert counted["total"] == 6 and "entry" not in counted
    assert len(search(mine, "_count=500")["entry"]) == 6  # cut to 100, as documented


def test_a_search_page_costs_the_same_queries_however_many_prescriptions_it_holds(clinician, django_assert_num_queries):
    mine = app(clinician)
    prescription_at(clinician, Stage.APPROVED)
    search(mine, "_count=100")  # the token's first use is stamped once
    with CaptureQueriesContext(connection) as one:
        assert search(mine, "_count=100")["total"] == 2
    for _ in range(4):
        prescription_at(clinician, Stage.APPROVED)

    with django_assert_num_queries(len(one.captured_queries)):
        assert search(mine, "_count=100")["total"] == 10


def test_the_lines_of_a_prescription_on_its_way_carry_its_herbs_doses_and_preliminary_findings(clinician):
    p = prescription_at(clinician, Stage.SUBMITTED, herbs=[("党参", "10"), ("薄荷", "6")])
    mine = app(clinician)

    line = read(mine, f"/fhir/MedicationRequest/{p.pk}-2")
    mint = Herb.objects.get(name="薄荷")
    assert line["medicationCodeableConcept"]["coding"] == [
        {"system": f"{BASE}/CodeSystem/herb", "code": str(mint.pk), "display": "薄荷"}
    ]
    assert (line["status"], line["intent"], line["subject"]["reference"]) == (
        "active",
        "order",
        f"Patient/{p.patient_id}",
    )
    assert line["dispenseRequest"]["quantity"] == {
        "value": 7,
        "unit": "剂",
        "system": "http://unitsofmeasure.org",
        "code": "{dose}",
    }
    assert line["groupIdentifier"] == {"system": f"{BASE}/sid/prescription-number", "value": p.number}
    assert line["requester"]["reference"] == f"Practitioner/{clinician.pk}"
    issue = read(mine, f"/fhir/DetectedIssue/{p.pk}-1")
    assert issue["status"] == "preliminary" and issue["implicated"][0]["reference"] == f"MedicationRequest/{p.pk}-2"
    mine.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # displays are data: Chinese whatever the language
    task = read(mine, f"/fhir/Task/{p.pk}-submitted")
    assert (task["status"], task["businessStatus"]["coding"][0]["display"]) == ("completed", "已提交")


def test_a_rejected_then_revised_prescription_links_each_line_to_the_previous_versions_line(clinician, pharmacist):
    first = prescription_at(clinician, Stage.SUBMITTED)
    audit_run(prescription_id=first.pk)
    audit_decide(pharmacist=pharmacist, prescription=first, decision="reject", reasons=["白术剂量偏大"])
    form = {
        "consult": {"tcm_disease": "胃痛"},
        "items": [{"herb": "党参", "grams": "10"}, {"herb": "黄芪", "grams": "15"}],
        "doses": 7,
        "usage": "水煎服",
        "delivery_address": first.delivery_address,
    }
    second, _created = prescription_submit(
        actor=clinician, patient=first.patient, form=PrescriptionForm.of(form), previous=first
    )
    mine = app(clinician)

    codonopsis, astragalus = (read(mine, f"/fhir/MedicationRequest/{second.pk}-{n}") for n in (1, 2))
    assert codonopsis["priorPrescription"] == {"reference": f"MedicationRequest/{first.pk}-1"}
    assert "priorPrescription" not in astragalus
    assert codonopsis["identifier"][0]["value"] == f"{second.number}-v2"
    assert read(mine, f"/fhir/MedicationRequest/{first.pk}-1")["status"] == "stopped"
    rejected = read(mine, f"/fhir/Task/{first.pk}-rejected")
    assert (rejected["status"], rejected["statusReason"]["text"]) == ("rejected", "白术剂量偏大")


def test_patients_staff_and_institutions_are_read_within_the_readers_subtree(
    clinician, outsider, dispenser, county_admin, county
):
    patient = PatientFactory(institution=clinician.institution, id_number="110101199003070038", address="白塔村1号")
    mine, county_wide = app(clinician), app(county_admin)

    shown = read(mine, f"/fhir/Patient/{patient.pk}")
    assert shown["identifier"][0]["value"] == "110101199003070038" and shown["telecom"][0]["value"] == patient.mobile
    assert (shown["gender"], shown["birthDate"]) == ("female", "1980-05-17")
    outcome(app(outsider), f"/fhir/Patient/{patient.pk}", 404, "not-found")
    me = read(mine, f"/fhir/Practitioner/{clinician.pk}")
    assert (me["name"], me["identifier"][0]["value"]) == ([{"text": "李医生"}], "clinician")
    outcome(mine, f"/fhir/Practitioner/{dispenser.pk}", 404, "not-found")
    assert read(county_wide, f"/fhir/Practitioner/{dispenser.pk}")["id"] == str(dispenser.pk)
    township = read(mine, f"/fhir/Organization/{county['T001'].pk}")
    assert township["type"][0]["coding"][0]["display"] == "乡镇卫生院"
    assert township["partOf"] == {"reference": f"Organization/{county['C001'].pk}"}
    outcome(mine, f"/fhir/Organization/{county['H001'].pk}", 404, "not-found")
    assert read(county_wide, f"/fhir/Organization/{county['H001'].pk}")["name"] == "县人民医院"


def test_a_reader_who_sees_the_prescription_but_not_the_patients_record_gets_only_the_name(clinician, county):
    p = prescription_at(clinician, Stage.SUBMITTED)
    Patient.objects.filter(pk=p.patient_id).update(institution=county["C002"])  # test setup: registered elsewhere

    bundle = read(app(clinician), f"/fhir/MedicationRequest/{p.pk}-1/$everything")
    (patient,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert patient == {"resourceType": "Patient", "id": str(p.patient_id), "name": [{"text": p.patient.name}]}


def test_every_code_system_the_resources_name_is_served_and_validates(clinician):
    mine = app(clinician)
    concepts = {
        name: {c["code"]: c["display"] for c in read(mine, f"/fhir/CodeSystem/{name}")["concept"]}
        for name in ("herb", "special-decoction", "stage", "audit-finding", "audit-mitigation", "institution-kind")
    }

    assert len(concepts["herb"]) == Herb.objects.count() and concepts["herb"][str(Herb.objects.get(name="党参").pk)]
    assert set(concepts["stage"]) == set(Stage.values) and concepts["stage"]["recheck_failed"] == "复核未通过"
    assert concepts["special-decoction"]["decoct_first"] == "先煎"
    assert concepts["audit-finding"]["incompatibility.eighteen"] == "十八反"


def test_the_openapi_schema_lists_every_fhir_endpoint_with_its_media_type(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    fhir = {path for path in paths if path.startswith("/fhir/")}
    types = ["MedicationRequest", "DetectedIssue", "MedicationDispense", "Task", "Provenance", "Patient"]
    types += ["Practitioner", "Organization", "CodeSystem"]
    assert fhir == {
        "/fhir/metadata",
        "/fhir/MedicationRequest",
        "/fhir/MedicationRequest/{id}/$everything",
        *(f"/fhir/{name}/{{id}}" for name in types),
    }
    for path in fhir:
        answers = paths[path]["get"]["responses"]
        assert {"200", "400", "406"} <= set(answers), path
        assert all(set(answer["content"]) == {"application/fhir+json"} for answer in answers.values()), path
