"""Across prescriptions: the same patient's other active prescriptions of the last 7 days (any
institution of the county) join the check at precheck and submit — 十八反/十九畏, duplicates and
the summed daily dose of toxic herbs; and the precheck API that needs no identity."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.roles import Role
from audit.models import Decision
from audit.services import audit_decide, audit_run
from patients.models import Patient
from prescriptions.models import Prescription
from rules import engine
from rules.drafts import DraftError, parse_draft

from .factories import PatientFactory, UserFactory
from .test_prescription_api import PASSWORD, URL, body, counts, errors_of, post

pytestmark = pytest.mark.usefixtures("enqueued")

PRECHECK = f"{URL}precheck/"
GANCAO = [{"herb": "党参", "grams": "10"}, {"herb": "甘草", "grams": "6"}]
GANSUI = [{"herb": "茯苓", "grams": "12"}, {"herb": "甘遂", "grams": "1"}]


@pytest.fixture
def patient(county):
    return PatientFactory(institution=county["T001"], name="王五")


@pytest.fixture
def clinician_api(api, clinician, catalogue):
    api.force_login(clinician)
    return api


def findings(client, data) -> list[dict]:
    response = post(client, data, url=PRECHECK)
    assert response.status_code == 200, response.content
    return response.json()["findings"]


def of_code(found, code) -> list[dict]:
    return [finding for finding in found if finding["code"] == code]


def submit_signed(client, patient, items, doses=3) -> dict:
    """Submit, signing for whatever blocks (the earlier prescription of each test)."""
    data = body(patient, items=items, doses=doses)
    reasons = {f"{f['code']}:{'+'.join(f['herbs'])}": "已告知患者" for f in findings(client, data)}
    response = post(client, {**data, "double_signature": {"password": PASSWORD, "reasons": reasons}})
    assert response.status_code == 201, response.content
    return response.json()


# --- the rules, through the precheck and the submit ----------------------------------------------------------


def test_an_eighteen_pair_split_across_two_active_prescriptions_of_the_same_patient_is_found(clinician_api, patient):
    first = submit_signed(clinician_api, patient, GANCAO)

    found = of_code(findings(clinician_api, body(patient, items=GANSUI, doses=3)), "cross.incompatibility")

    assert [(f["severity"], f["herbs"]) for f in found] == [("block", ["甘遂", "甘草"])]
    assert first["number"] in found[0]["message"] and "十八反" in found[0]["message"]
    assert "中国药典" in found[0]["source"]


def test_the_submit_stores_the_cross_finding_and_needs_the_second_signature_for_it(clinician_api, patient):
    submit_signed(clinician_api, patient, GANCAO)

    unsigned = post(clinician_api, body(patient, items=GANSUI, doses=3))
    second = submit_signed(clinician_api, patient, GANSUI)

    assert "double_signature.password" in errors_of(unsigned)
    stored = Prescription.objects.get(pk=second["id"])
    assert "cross.incompatibility" in {f["code"] for f in stored.precheck_findings}
    assert "cross.incompatibility" in {f["code"] for f in stored.double_signature["findings"]}


def test_a_rejected_or_cancelled_prescription_is_not_part_of_the_cross_check(clinician_api, patient, pharmacist):
    cancelled = submit_signed(clinician_api, patient, GANCAO)
    assert post(clinician_api, {"reason": "患者未取药"}, url=f"{URL}{cancelled['id']}/cancel/").status_code == 200
    rejected = submit_signed(clinician_api, patient, GANCAO)
    audit_run(prescription_id=rejected["id"])
    audit_decide(
        pharmacist=pharmacist,
        prescription=Prescription.objects.get(pk=rejected["id"]),
        decision=Decision.REJECT,
        reasons=["请改方"],
    )

    found = findings(clinician_api, body(patient, items=GANSUI, doses=3))

    assert [f for f in found if f["code"].startswith("cross.")] == []


def test_a_prescription_older_than_seven_days_is_not_part_of_the_cross_check(clinician_api, patient):
    old = submit_signed(clinician_api, patient, GANCAO)
    Prescription.objects.filter(pk=old["id"]).update(
        created_at=Prescription.objects.get(pk=old["id"]).created_at - timedelta(days=8)
    )

    found = findings(clinician_api, body(patient, items=GANSUI, doses=3))

    assert of_code(found, "cross.incompatibility") == []


def test_another_patients_prescription_is_not_part_of_the_cross_check(clinician_api, patient, county):
    submit_signed(clinician_api, PatientFactory(institution=county["T001"]), GANCAO)

    assert of_code(findings(clinician_api, body(patient, items=GANSUI, doses=3)), "cross.incompatibility") == []


def test_a_prescription_of_another_institution_of_the_county_is_part_of_the_cross_check(
    api, patient, county, catalogue
):
    hospital_doctor = UserFactory(username="hospitaldoc", institution=county["H001"], roles=[Role.CLINICIAN])
    api.force_login(hospital_doctor)
    first = submit_signed(api, patient, GANCAO)
    township_doctor = UserFactory(username="towndoc", institution=county["T001"], roles=[Role.CLINICIAN])
    api.force_login(township_doctor)

    found = of_code(findings(api, body(patient, items=GANSUI, doses=3)), "cross.incompatibility")

    assert first["number"].startswith("H001-")
    assert first["number"] in found[0]["message"]


def test_one_person_registered_at_two_institutions_is_one_person_for_the_cross_check(api, county, catalogue):
    """Patients are unique by ID number per institution (the registration form does not disclose
    a record elsewhere), so one resident may have two records; the safety check joins them."""
    hospital_doctor = UserFactory(username="hospitaldoc", institution=county["H001"], roles=[Role.CLINICIAN])
    at_hospital = PatientFactory(institution=county["H001"], id_number="110101199003071234")
    api.force_login(hospital_doctor)
    first = submit_signed(api, at_hospital, GANCAO)
    township_doctor = UserFactory(username="towndoc", institution=county["T001"], roles=[Role.CLINICIAN])
    at_township = PatientFactory(institution=county["T001"], id_number="110101199003071234")
    stranger = PatientFactory(institution=county["T001"], id_number="")
    api.force_login(township_doctor)

    found = of_code(findings(api, body(at_township, items=GANSUI, doses=3)), "cross.incompatibility")

    assert [f["herbs"] for f in found] == [["甘遂", "甘草"]] and first["number"] in found[0]["message"]
    assert of_code(findings(api, body(stranger, items=GANSUI, doses=3)), "cross.incompatibility") == []


def test_the_same_herb_in_another_active_prescription_is_a_cross_duplicate_warning(clinician_api, patient):
    """The same 药材 (monograph): 麸炒白术 here, 白术 there. (炙甘草 and 甘草 are two monographs.)"""
    first = submit_signed(clinician_api, patient, [{"herb": "白术", "grams": "10"}])

    found = of_code(
        findings(clinician_api, body(patient, items=[{"herb": "麸炒白术", "grams": "10"}])), "cross.duplicate"
    )

    assert [(f["severity"], f["herbs"]) for f in found] == [("warn", ["麸炒白术", "白术"])]
    assert first["number"] in found[0]["message"]


def test_a_toxic_herbs_daily_grams_summed_across_active_prescriptions_over_its_maximum_block(clinician_api, patient):
    # 斑蝥: on the 28 list, 0.03–0.06 g a day. 0.04 g here and 0.04 g there is 0.08 g a day.
    first = submit_signed(clinician_api, patient, [{"herb": "斑蝥", "grams": "0.04"}], doses=1)

    found = of_code(
        findings(clinician_api, body(patient, items=[{"herb": "斑蝥", "grams": "0.04"}], doses=1)), "cross.toxic_dose"
    )

    assert [(f["severity"], f["herbs"]) for f in found] == [("block", ["斑蝥"])]
    assert first["number"] in found[0]["message"] and "0.08g" in found[0]["message"]
    assert found[0]["source"] == "《医疗用毒性药品管理办法》（1988）"


def test_toxic_grams_within_the_maximum_across_prescriptions_are_not_a_cross_finding(clinician_api, patient):
    submit_signed(clinician_api, patient, [{"herb": "斑蝥", "grams": "0.03"}], doses=1)

    found = findings(clinician_api, body(patient, items=[{"herb": "斑蝥", "grams": "0.03"}], doses=1))

    assert of_code(found, "cross.toxic_dose") == []


def test_revising_a_rejected_prescription_does_not_check_it_against_itself(clinician_api, patient, pharmacist):
    old = submit_signed(clinician_api, patient, GANCAO)
    audit_run(prescription_id=old["id"])
    audit_decide(
        pharmacist=pharmacist,
        prescription=Prescription.objects.get(pk=old["id"]),
        decision=Decision.REJECT,
        reasons=["改"],
    )

    response = post(clinician_api, body(patient, items=GANCAO), url=f"{URL}{old['id']}/revise/")

    assert response.status_code == 201, response.content
    revised = Prescription.objects.get(pk=response.json()["id"])
    assert [f for f in revised.precheck_findings if f["code"].startswith("cross.")] == []


# --- the engine and the interchange form ---------------------------------------------------------------------


def test_the_engine_checks_the_draft_against_others_only_when_they_are_given(catalogue):
    from rules.services import live_snapshot

    draft, patient = parse_draft(
        {
            "items": [{"herb": "甘遂", "grams": "1"}],
            "others": [{"number": "T001-20260101-0001", "doses": 7, "items": [{"herb": "甘草", "grams": 6}]}],
        }
    )
    alone, _ = parse_draft({"items": [{"herb": "甘遂", "grams": "1"}]})

    found = engine.audit(draft, patient, live_snapshot())

    assert [f.code for f in found if f.code.startswith("cross.")] == ["cross.incompatibility"]
    assert [f for f in engine.audit(alone, patient, live_snapshot()) if f.code.startswith("cross.")] == []
    assert draft.others[0].items[0].grams == Decimal(6)


@pytest.mark.parametrize(
    ("others", "path"),
    [
        ({"number": "X"}, "others: expected a list"),
        ([{"doses": 1, "items": [{"herb": "甘草", "grams": 6}]}], "others[0].number"),
        ([{"number": "X", "doses": 0, "items": [{"herb": "甘草", "grams": 6}]}], "others[0].doses"),
        ([{"number": "X", "items": []}], "others[0].items"),
        ([{"number": "X", "items": [{"herb": "甘草", "grams": "six"}]}], "others[0].items[0].grams"),
    ],
)
def test_malformed_others_name_their_path(others, path):
    with pytest.raises(DraftError, match=path.replace("[", r"\[").replace("]", r"\]")):
        parse_draft({"items": [{"herb": "甘草", "grams": 6}], "others": others})


def test_every_cross_code_has_a_chinese_title_and_one_function():
    assert set(engine.CROSS_RULES) == {code for code in engine.CODES if code.startswith("cross.")}
    assert engine.CODES["cross.incompatibility"] == (engine.Severity.BLOCK, "跨处方反畏")


# --- the precheck API with only the clinical facts --------------------------------------------------------------


def test_precheck_needs_no_name_or_mobile(clinician_api, patient):
    before = counts()

    response = post(
        clinician_api,
        {
            "patient": {"sex": "F", "age_years": 28},
            "consult": {"pregnancy": "yes", "weight_kg": "55"},
            "allergies": ["白术"],
            "items": [{"herb": "白术", "grams": "9"}, {"herb": "甘遂", "grams": "1"}],
        },
        url=PRECHECK,
    )

    assert response.status_code == 200, response.content
    codes = {f["code"] for f in response.json()["findings"]}
    assert {"allergy", "pregnancy.forbidden"} <= codes
    assert set(response.json()["price"]) == {"lines", "herb_total", "decoction_fee", "delivery_fee", "total"}
    assert counts() == before


def test_precheck_refuses_zero_doses_at_its_field_instead_of_pricing_one(clinician_api):
    response = post(
        clinician_api, {"patient": {"sex": "M", "age_years": 40}, "doses": 0, "items": GANCAO}, url=PRECHECK
    )

    assert response.status_code == 400 and "doses" in response.json()["errors"]


def test_the_other_prescriptions_join_the_check_as_they_were_written(clinician_api, patient):
    """Read again the way they were read at their own submit: an alias or a 生… name is not
    passed through the bare-name policy a second time as the catalogue name would be."""
    from prescriptions.services.checking import others_for_audit

    submit_signed(clinician_api, patient, [{"herb": "元胡", "grams": "6"}])

    (other,) = others_for_audit(patient)
    assert [item["herb"] for item in other["items"]] == ["元胡"]


def test_precheck_takes_a_date_of_birth_instead_of_the_age(clinician_api):
    from django.utils import timezone

    born = timezone.localdate() - timedelta(days=365 * 3)

    found = findings(
        clinician_api,
        {"patient": {"sex": "M", "date_of_birth": born.isoformat()}, "items": [{"herb": "麻黄", "grams": "9"}]},
    )

    assert of_code(found, "pediatric.dose"), found


def test_precheck_by_facts_never_registers_a_patient(clinician_api):
    before = Patient.objects.count()

    findings(clinician_api, {"patient": {"sex": "M", "age_years": 40}, "items": GANCAO})

    assert Patient.objects.count() == before


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"items": [{"herb": "党参", "grams": "0"}]}, "items[0].grams"),
        ({"items": [*GANCAO, {"herb": "茯苓", "grams": "-3"}]}, "items[2].grams"),
        ({"patient": {"sex": "M", "age_years": 40}, "consult": {"pregnancy": "yes"}}, "consult.pregnancy"),
        ({"patient": {"sex": "F", "age_years": 200}}, "patient.age_years"),
        ({"patient": {"sex": "F", "age_years": -1}}, "patient.age_years"),
        ({"patient": {"sex": "F"}}, "patient.age_years"),
        ({"patient": {"age_years": 30}}, "patient.sex"),
        ({"consult": {"weight_kg": "0"}}, "consult.weight_kg"),
        ({"consult": {"weight_kg": "301"}}, "consult.weight_kg"),
        ({"allergies": ["青霉素"]}, "allergies[0]"),
        ({"allergies": ["白术", "芍"]}, "allergies[1]"),
    ],
    ids=[
        "zero grams",
        "negative grams",
        "pregnant male",
        "age 200",
        "negative age",
        "no age",
        "no sex",
        "weight 0",
        "weight 301",
        "unknown allergy",
        "allergy by a fragment",
    ],
)
def test_precheck_bad_clinical_facts_are_a_400_at_the_field_and_nothing_is_saved(clinician_api, values, path):
    data = {"patient": {"sex": "F", "age_years": 30}, "items": GANCAO, **values}
    before = counts()

    errors = errors_of(post(clinician_api, data, url=PRECHECK))

    assert errors[path], errors
    assert counts() == before


def test_a_registered_patient_precheck_refuses_a_pregnant_male(clinician_api, county):
    man = PatientFactory(institution=county["T001"], sex="M")

    errors = errors_of(post(clinician_api, body(man, consult={"pregnancy": "yes"}), url=PRECHECK))

    assert errors["consult.pregnancy"]
