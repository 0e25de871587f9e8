"""The clinician's day through the pages and services it uses (the browser walk is
tests/test_clinician_day_browser.py): the patient's edit page, the editor's patient choice and
history, the home page's waiting prescriptions, formulas that insert every herb, and a missing
double-signature reason reported at its finding."""

import json
import re
from datetime import date

import pytest

from audit.models import Decision
from audit.services import audit_decide, audit_run
from patients.models import Patient
from prescriptions.models import Prescription
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .factories import PatientFactory, UserFactory

PASSWORD = "pw-for-tests-1"
GANCAO_GANSUI = [{"herb": "甘草", "grams": "6"}, {"herb": "甘遂", "grams": "1"}]  # 十八反: a block finding
EIGHTEEN_KEY = "incompatibility.eighteen:甘草+甘遂"


def write_prescription(clinician, patient, items=None, disease="水肿", **values) -> Prescription:
    """A prescription submitted through the service, double-signed when its herbs need it."""
    prescription, _created = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": disease, "tongue": "舌淡苔白", "pulse": "脉浮缓"},
                "doses": 3,
                "usage": "每日1剂，水煎分2次温服",
                "delivery": "pickup",
                "items": items or GANCAO_GANSUI,
                "double_signature": {"password": PASSWORD, "reasons": {EIGHTEEN_KEY: "逐水，已告知患者"}},
                **values,
            }
        ),
    )
    return prescription


def reject(prescription, pharmacist, reason="甘遂用量请再斟酌") -> Prescription:
    audit_run(prescription_id=prescription.pk)
    audit_decide(
        pharmacist=pharmacist,
        prescription=Prescription.objects.get(pk=prescription.pk),
        decision=Decision.REJECT,
        reasons=[reason],
    )
    return Prescription.objects.get(pk=prescription.pk)


@pytest.fixture
def township_patient(county):
    return PatientFactory(institution=county["T001"], name="张桂芝")


def test_patient_edit_page_shows_the_stored_date_of_birth_in_the_date_input(client, clinician, county):
    patient = PatientFactory(institution=county["T001"], date_of_birth=date(1980, 5, 17))
    client.force_login(clinician)

    html = client.get(f"/patients/{patient.pk}/").content.decode()

    assert 'type="date"' in html
    assert 'value="1980-05-17"' in html


def test_a_classical_formula_inserts_every_herb_it_has_a_count_of_jujubes_as_the_pharmacopoeia_minimum(
    client, clinician, catalogue
):
    client.force_login(clinician)

    formula = client.get("/api/v1/formulas/", {"q": "桂枝汤"}).json()["results"][0]

    assert formula["name"] == "桂枝汤"
    assert [item["herb"] for item in formula["items"]] == ["桂枝", "白芍", "生姜", "炙甘草", "大枣"]
    jujube = formula["items"][-1]
    assert (jujube["grams"], jujube["written_amount"]) == ("6", "3枚"), "药典2020 大枣 6～15 g: the lower bound"
    assert formula["source"].endswith("请核对：大枣 3枚→6g")
    assert "未列入" not in formula["source"]


def test_no_classical_formula_leaves_out_a_counted_herb_that_has_a_pharmacopoeia_dose():
    from catalogue.importer.loading import load

    formulas = load()["formulas"]
    left_out = [note.partition("未列入（请按需手工添加）：")[2] for note in (f["note"] for f in formulas)]

    assert [entry for entry in left_out if re.search(r"\d+[枚片]", entry)] == []
    assert sum(formula["note"].count("→") for formula in formulas) == 14  # the 大枣 and 生姜 counts


def test_prescribe_without_a_patient_opens_the_editor_at_the_patient_choice_not_the_patient_list(client, clinician):
    client.force_login(clinician)

    response = client.get("/prescriptions/new/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="patient-q"' in html and 'class="register-patient"' in html
    assert 'id="editor"' not in html


def test_the_patient_choice_finds_only_patients_of_the_clinicians_institution_subtree(
    client, clinician, county, township_patient
):
    PatientFactory(institution=county["V001"], name="张村民")
    PatientFactory(institution=county["T003"], name="张外乡")
    client.force_login(clinician)

    choices = client.get("/prescriptions/new/", {"q": "张"}).context["choices"]

    assert {p.name for p in choices} == {"张桂芝", "张村民"}


def test_an_outsider_asking_for_another_townships_patient_gets_the_patient_choice_without_the_patient(
    client, outsider, township_patient
):
    client.force_login(outsider)

    response = client.get("/prescriptions/new/", {"patient": township_patient.pk})

    assert response.status_code == 200
    assert response.context["patient"] is None
    assert "张桂芝" not in response.content.decode()


def test_before_any_search_the_patient_choice_offers_the_patients_the_clinician_last_prescribed_for(
    client, clinician, county, catalogue, enqueued
):
    older, newer = PatientFactory(institution=county["T001"]), PatientFactory(institution=county["T001"])
    write_prescription(clinician, older)
    write_prescription(clinician, newer)
    client.force_login(clinician)

    assert list(client.get("/prescriptions/new/").context["choices"]) == [newer, older]


def new_patient(**values) -> dict:
    data = {"name": "王新", "sex": "M", "date_of_birth": "1975-03-02", "mobile": "13900001111"}
    return (
        data | dict.fromkeys(["id_number", "township", "address", "allergies", "allergy_notes", "notes"], "") | values
    )


def test_a_patient_registered_inside_the_editor_opens_the_editor_with_them_chosen(client, clinician, catalogue):
    client.force_login(clinician)

    response = client.post("/prescriptions/new/", new_patient())

    patient = Patient.objects.get(name="王新")
    assert (patient.institution, patient.created_by) == (clinician.institution, clinician)
    assert response.status_code == 302
    assert response.url == f"/prescriptions/new/?patient={patient.pk}"


def test_a_registration_inside_the_editor_with_a_bad_mobile_is_refused_at_the_field_and_saves_nothing(
    client, clinician, catalogue
):
    client.force_login(clinician)

    response = client.post("/prescriptions/new/", new_patient(mobile="12345"))

    assert response.status_code == 400
    assert response.context["register_form"].errors.keys() == {"mobile"}
    assert 'class="register-patient" open' in response.content.decode()
    assert not Patient.objects.filter(name="王新").exists()


def test_the_patient_form_still_returns_to_the_editor_when_asked(client, clinician, catalogue):
    client.force_login(clinician)

    response = client.post("/patients/new/?then=prescribe", new_patient())

    assert response.url == f"/prescriptions/new/?patient={Patient.objects.get(name='王新').pk}"


def test_someone_who_may_not_register_patients_cannot_register_one_inside_the_editor(client, pharmacist):
    client.force_login(pharmacist)

    assert client.post("/prescriptions/new/", new_patient()).status_code == 403
    assert not Patient.objects.filter(name="王新").exists()


def test_the_editor_shows_the_patients_recent_prescriptions_with_their_findings_and_a_copy_of_each(
    client, clinician, township_patient, catalogue, enqueued
):
    earlier = write_prescription(clinician, township_patient)
    client.force_login(clinician)

    response = client.get("/prescriptions/new/", {"patient": township_patient.pk})

    assert response.context["history"] == [earlier]
    html = response.content.decode()
    history = html[html.index('id="history"') : html.index('id="warnings"')]
    assert earlier.display_number in history and "十八反" in history and "舌淡苔白" in history
    copy = json.loads(re.search(r'id="editor-copies"[^>]*>(.*?)</script>', html, re.S).group(1))[str(earlier.pk)]
    assert copy["items"] == [
        {"herb": "甘草", "grams": "6", "instruction": ""},
        {"herb": "甘遂", "grams": "1", "instruction": ""},
    ]
    assert (copy["doses"], copy["tcm_disease"]) == (3, "水肿")


def test_a_missing_signature_reason_is_reported_at_the_path_of_its_own_finding(
    client, clinician, township_patient, catalogue
):
    client.force_login(clinician)
    body = {
        "patient": township_patient.pk,
        "consult": {"tcm_disease": "水肿"},
        "items": GANCAO_GANSUI,
        "doses": 3,
        "usage": "每日1剂，水煎分2次温服",
        "delivery": "pickup",
        "double_signature": {"password": PASSWORD, "reasons": {}},
    }

    response = client.post("/api/v1/prescriptions/", body, content_type="application/json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "十八反" in errors[f"double_signature.reasons[{EIGHTEEN_KEY}]"][0]
    assert "double_signature.reasons" not in errors


def test_the_home_page_lists_the_clinicians_rejected_prescriptions_until_they_are_revised(
    client, clinician, pharmacist, county, township_patient, catalogue, enqueued
):
    colleague = UserFactory(username="colleague", institution=county["T001"], roles=["clinician"])
    mine = reject(write_prescription(clinician, township_patient), pharmacist)
    reject(write_prescription(colleague, township_patient), pharmacist)
    write_prescription(clinician, township_patient, items=[{"herb": "甘草", "grams": "6"}])  # still in audit
    client.force_login(clinician)

    html = client.get("/").content.decode()

    assert [p.pk for p in client.get("/").context["waiting"]] == [mine.pk]
    assert "甘遂用量请再斟酌" in html and f"/prescriptions/{mine.pk}/revise/" in html

    revised = client.post(
        f"/api/v1/prescriptions/{mine.pk}/revise/",
        {
            "consult": {"tcm_disease": "水肿"},
            "items": [{"herb": "甘草", "grams": "6"}],
            "doses": 3,
            "usage": "每日1剂，水煎分2次温服",
            "delivery": "pickup",
        },
        content_type="application/json",
    )
    assert revised.status_code in (200, 201), revised.content
    assert client.get("/").context["waiting"] == []


def test_the_home_page_of_a_pharmacist_has_no_waiting_prescriptions_section(client, pharmacist):
    client.force_login(pharmacist)

    response = client.get("/")

    assert response.context["waiting"] is None
    assert 'id="waiting"' not in response.content.decode()
