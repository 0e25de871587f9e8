"""A prescription's whole journey read back through the FHIR API: driven over the platform's own
API with tokens as a HIS and the stations drive it (a finding the pharmacist overrides with a
reason, a re-check that fails and a second dispensing, decoction, delivery), then
GET /fhir/MedicationRequest/<id>/$everything must hold every line, the findings with the
pharmacist's reason, both dispensings, one Task per stage reached and one Provenance per trace
event whose hashes are the chain verify_trace accepts."""

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.services import audit_run
from core.keys import keyed_hash
from decoction.models import DispensingRecord, StationPhoto
from prescriptions.models import TraceEvent
from prescriptions.services.integrity import verify_trace
from prescriptions.workflow import Stage

from .fhir import of_type, read, types_in, validated
from .test_api_day import app, events, ok, post, stock
from .test_stations_api import noise_jpeg

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

ADDRESS = "白塔乡白塔村3组12号"
HERBS = [("党参", "10", ""), ("白术", "10", ""), ("石膏", "20", "先煎"), ("薄荷", "6", "")]
OVERRIDE = "医嘱：薄荷与群药同煎"
TRACE_HASH = "http://testserver/fhir/StructureDefinition/trace-hash"


@pytest.fixture
def site(settings):
    settings.SITE_URL = "http://testserver"
    return "http://testserver/fhir"


def dispensed(tablet, pk):
    sheet = ok(tablet.get(f"/api/v1/stations/dispensing/prescriptions/{pk}/"))
    weights = json.dumps([{"grams": row["total_grams"]} for row in sheet["items"]])
    photo = SimpleUploadedFile("herbs.jpg", noise_jpeg(), content_type="image/jpeg")
    ok(tablet.post(events(pk), {"stage": Stage.DISPENSED, "weights": weights, "photo": photo}), 201)


@pytest.fixture
def delivered(county, catalogue, clinician, pharmacist, dispenser, decoctor, courier, settings, tmp_path, site):
    """A prescription of T001 taken from the HIS to the patient's door, its first dispensing sent
    back by the re-check."""
    settings.MEDIA_ROOT = tmp_path
    stock(county, catalogue, dispenser, [name for name, _grams, _instruction in HERBS])
    his, pharmacy, tablet, decoction, phone = (
        app(clinician),
        app(pharmacist),
        app(dispenser),
        app(decoctor),
        app(courier),
    )
    body = {
        "patient": {"name": "王秀英", "sex": "F", "date_of_birth": "1970-03-08", "mobile": "13800138000"},
        "consult": {"tcm_disease": "胃痛", "tcm_syndrome": "脾胃虚弱"},
        "items": [{"herb": name, "grams": grams, "instruction": how} for name, grams, how in HERBS],
        "doses": 3,
        "usage": "每日1剂，水煎分2次温服",
        "delivery_address": ADDRESS,
    }
    pk = post(his, "/api/v1/prescriptions/", body, status=201)["id"]
    run = audit_run(prescription_id=pk)
    assert "decoction.instruction_missing" in [finding["code"] for finding in run.findings]
    decision = {"decision": "approve", "overrides": {"decoction.instruction_missing:薄荷": OVERRIDE}}
    post(pharmacy, f"/api/v1/audit/{pk}/decision/", decision)
    dispensed(tablet, pk)
    post(pharmacy, events(pk), {"stage": Stage.RECHECK_FAILED, "reason": "白术少称"}, status=201)
    dispensed(tablet, pk)
    post(pharmacy, events(pk), {"stage": Stage.RECHECKED}, status=201)
    post(decoction, events(pk), {"stage": Stage.SOAKING, "tank": "T-01"}, status=201)
    post(decoction, events(pk), {"stage": Stage.DECOCTING, "machine": "M-02", "ack_reason": "急煎"}, status=201)
    post(decoction, events(pk), {"stage": Stage.PACKAGED, "bags": 6, "ml_per_bag": 200, "ack_reason": "急"}, 201)
    (stop,) = post(phone, "/api/v1/delivery/runs/", {"prescriptions": [pk], "area": "白塔乡"}, status=201)["stops"]
    post(phone, f"/api/v1/delivery/stops/{stop['id']}/", {"action": Stage.SHIPPED})
    post(phone, f"/api/v1/delivery/stops/{stop['id']}/", {"action": "delivered", "receiver_name": "本人"})
    return {"pk": pk, "his": his, "run": run}


def references(value, key=""):
    """Every reference inside a resource, but the parents of organizations (partOf)."""
    if isinstance(value, dict):
        if key != "partOf" and isinstance(value.get("reference"), str):
            yield value["reference"]
        for inner_key, inner in value.items():
            yield from references(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner, key)


def test_the_everything_bundle_of_a_delivered_prescription_holds_its_whole_story_and_validates(delivered, site):
    pk = delivered["pk"]
    bundle = read(delivered["his"], f"/fhir/MedicationRequest/{pk}-2/$everything")

    trace = list(TraceEvent.objects.filter(prescription_id=pk).order_by("seq"))
    stages = list(dict.fromkeys(event.stage for event in trace))
    assert len(trace) == 12 and len(stages) == 11  # dispensed twice
    assert bundle["type"] == "searchset" and bundle["total"] == len(HERBS)
    assert types_in(bundle) == {
        "MedicationRequest": len(HERBS),
        "Patient": 1,
        "Practitioner": 5,  # clinician, pharmacist, dispenser, decoctor, courier
        "Organization": 4,  # T001 (the patient's too), H001, P001 (the dispensing pharmacy), D001
        "DetectedIssue": len(delivered["run"].findings),
        "MedicationDispense": 2,
        "Task": len(stages),
        "Provenance": len(trace),
    }
    assert all(entry["fullUrl"].startswith(f"{site}/") for entry in bundle["entry"])
    assert [e["search"]["mode"] for e in bundle["entry"][: len(HERBS)]] == ["match"] * len(HERBS)
    held = {f"{entry['resource']['resourceType']}/{entry['resource']['id']}" for entry in bundle["entry"]}
    named = {ref for entry in bundle["entry"] for ref in references(entry["resource"]) if not ref.startswith("#")}
    assert named - held == set(), "every reference but an institution's parent resolves inside the bundle"
    tasks = of_type(bundle, "Task")
    assert [task["businessStatus"]["coding"][0]["code"] for task in tasks] == stages
    assert {task["id"]: task["status"] for task in tasks}[f"{pk}-recheck-failed"] == "failed"
    assert {task["id"]: len(task["relevantHistory"]) for task in tasks}[f"{pk}-dispensed"] == 2


def test_the_provenances_carry_the_hash_chain_that_verify_trace_accepts(delivered):
    pk = delivered["pk"]
    bundle = read(delivered["his"], f"/fhir/MedicationRequest/{pk}-1/$everything")

    problems, _chains, _events = verify_trace()
    assert problems == []
    trace = list(TraceEvent.objects.filter(prescription_id=pk).order_by("seq"))
    links = []
    for provenance in of_type(bundle, "Provenance"):
        (chain,) = [ext for ext in provenance["extension"] if ext["url"] == TRACE_HASH]
        parts = {part["url"]: next(v for k, v in part.items() if k.startswith("value")) for part in chain["extension"]}
        signed = base64.b64decode(provenance["signature"][0]["data"]).hex()
        assert signed == parts["hash"]
        assert keyed_hash(parts["content"], parts["key_id"]) == parts["hash"]  # re-checked with the trace key
        links.append((parts["seq"], parts.get("prev_hash", ""), parts["hash"]))
    assert links == [(event.seq, event.prev_hash, event.hash) for event in trace]
    assert all(later[1] == earlier[2] for earlier, later in zip(links, links[1:], strict=False))
    by_id = {provenance["id"]: provenance for provenance in of_type(bundle, "Provenance")}
    assert by_id[f"{pk}-2"]["agent"][0]["who"] == {"display": "系统"}  # the machine audit
    assert by_id[f"{pk}-4"]["agent"][0]["who"]["reference"].startswith("Practitioner/")


def test_the_findings_carry_the_pharmacists_reason_and_the_lines_they_implicate(delivered):
    pk = delivered["pk"]
    bundle = read(delivered["his"], f"/fhir/MedicationRequest/{pk}-1/$everything")

    issues = {issue["code"]["coding"][0]["code"]: issue for issue in of_type(bundle, "DetectedIssue")}
    missing = issues["decoction.instruction_missing"]
    assert missing["severity"] == "moderate"
    assert missing["implicated"] == [{"reference": f"MedicationRequest/{pk}-4", "display": "薄荷"}]
    (mitigation,) = missing["mitigation"]
    assert mitigation["action"]["text"] == OVERRIDE
    assert mitigation["author"]["reference"].startswith("Practitioner/")
    lines = {line["id"]: line for line in of_type(bundle, "MedicationRequest")}
    gypsum = lines[f"{pk}-3"]
    assert gypsum["dosageInstruction"][0]["additionalInstruction"][0]["coding"][0]["code"] == "decoct_first"
    assert gypsum["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] == {
        "value": 20,
        "unit": "g",
        "system": "http://unitsofmeasure.org",
        "code": "g",
    }
    assert gypsum["dispenseRequest"]["quantity"]["value"] == 3 and gypsum["status"] == "completed"
    assert {line["groupIdentifier"]["value"] for line in lines.values()} == {gypsum["groupIdentifier"]["value"]}


def test_each_dispensing_names_its_dispenser_its_checker_and_its_photo(delivered, dispenser, pharmacist):
    pk = delivered["pk"]
    bundle = read(delivered["his"], f"/fhir/MedicationRequest/{pk}-1/$everything")

    first, second = sorted(of_type(bundle, "MedicationDispense"), key=lambda dispense: dispense["whenPrepared"])
    assert (first["status"], first["statusReasonCodeableConcept"]["text"]) == ("stopped", "白术少称")
    assert second["status"] == "completed" and "whenHandedOver" in second and "whenHandedOver" not in first
    for dispense in (first, second):
        functions = {p["function"]["coding"][0]["code"]: p["actor"]["reference"] for p in dispense["performer"]}
        assert functions == {"packager": f"Practitioner/{dispenser.pk}", "checker": f"Practitioner/{pharmacist.pk}"}
        (media,) = [c for c in dispense["contained"] if c["resourceType"] == "Media"]
        record = DispensingRecord.objects.get(pk=int(dispense["id"].split("-")[1]))
        photo = StationPhoto.objects.filter(prescription_id=pk).order_by("created_at", "pk")
        assert media["content"]["url"] in {f"http://testserver/stations/photos/{p.pk}/" for p in photo}
        assert dispense["supportingInformation"] == [{"reference": "#photo", "display": "调剂照片"}]
        assert record.prescription_id == pk
    read(delivered["his"], f"/fhir/MedicationDispense/{second['id']}")


def test_every_resource_of_the_bundle_is_readable_by_its_own_id_as_the_same_resource(delivered, county_admin):
    """The county's administrator sees the whole tree, so every practitioner and organization the
    bundle names is in their scope too (a township's clinician reads only its own by id)."""
    pk, county = delivered["pk"], app(county_admin)
    bundle = read(county, f"/fhir/MedicationRequest/{pk}-1/$everything")

    for entry in bundle["entry"]:
        resource = entry["resource"]
        own = read(county, f"/fhir/{resource['resourceType']}/{resource['id']}")
        assert validated(own) == resource, entry["fullUrl"]
