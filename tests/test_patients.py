"""Patient registration: ID and mobile rules, the patients API, scope, and the registration page."""

import re
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from patients.models import Patient
from patients.validators import parse_id_number, validate_mobile

from .factories import PatientFactory

URL = "/api/v1/patients/"


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2, written out independently of the code under test."""
    total = sum(int(digit) * (2 ** (17 - position) % 11) for position, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def resident_id(born: str = "19800315", sequence: str = "123", area: str = "320102") -> str:
    first17 = area + born + sequence
    return first17 + check_char(first17)


def wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def id_message(number: str) -> str:
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(number)
    return excinfo.value.messages[0]


# --- Validators ------------------------------------------------------------------------------------


def test_valid_id_number_gives_date_of_birth_and_sex():
    assert parse_id_number(resident_id("19800315", "123")) == (resident_id("19800315", "123"), date(1980, 3, 15), "M")
    assert parse_id_number(resident_id("19921129", "042"))[2] == "F"


def test_published_id_number_with_x_check_character_is_valid_in_either_case():
    assert check_char("11010519491231002") == "X"
    assert parse_id_number("11010519491231002x") == ("11010519491231002X", date(1949, 12, 31), "F")


def test_id_number_with_a_wrong_check_character_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(wrong_check(resident_id()))

    assert excinfo.value.code == "id_checksum"


def test_id_number_with_an_impossible_date_is_refused_even_with_a_correct_check_character():
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(resident_id("19990230"))

    assert excinfo.value.code == "id_date"


def test_id_number_born_in_the_future_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(resident_id("20300101"), today=date(2025, 1, 1))

    assert excinfo.value.code == "id_date"


@pytest.mark.parametrize("number", ["32010219800315123", "3201021980031512345", "32010219800315123Y", ""])
def test_id_number_of_the_wrong_shape_is_refused(number):
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(number)

    assert excinfo.value.code == "id_format"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678"), ("19900000000", "19900000000")],
)
def test_mobile_number_is_normalised(typed, stored):
    assert validate_mobile(typed) == stored


@pytest.mark.parametrize("typed", ["12912345678", "1391234567", "139123456789", "0571-8888888", "1391234567a"])
def test_mobile_number_that_is_not_a_mainland_mobile_is_refused(typed):
    with pytest.raises(ValidationError) as excinfo:
        validate_mobile(typed)

    assert excinfo.value.code == "mobile"


# --- The patients API ----------------------------------------------------------------------------


@pytest.fixture
def clinician_api(api, clinician, catalogue):
    api.force_login(clinician)
    return api


def post_patient(client, **values):
    data = {"name": "王小明", "mobile": "13912345678", "id_number": resident_id(), **values}
    return client.post(URL, data, content_type="application/json")


def assert_field_error(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["errors"][field], body
    return body["errors"][field]


def test_registering_with_a_valid_id_derives_date_of_birth_and_sex(clinician_api, clinician):
    response = post_patient(clinician_api, id_number=resident_id("19800315", "123"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["date_of_birth"], body["sex"], body["institution_code"]) == ("1980-03-15", "M", "T001")
    patient = Patient.objects.get(pk=body["id"])
    assert (patient.date_of_birth, patient.sex, patient.created_by) == (date(1980, 3, 15), "M", clinician)


def test_id_with_a_wrong_check_character_is_a_field_error_and_nothing_is_written(clinician_api):
    response = post_patient(clinician_api, id_number=wrong_check(resident_id()))

    assert_field_error(response, "id_number")
    assert not Patient.objects.exists()


def test_bad_mobile_is_a_field_error(clinician_api):
    assert_field_error(post_patient(clinician_api, mobile="12345"), "mobile")
    assert not Patient.objects.exists()


def test_date_of_birth_that_contradicts_the_id_is_a_field_error(clinician_api):
    response = post_patient(clinician_api, id_number=resident_id("19800315"), date_of_birth="1981-03-15")

    assert_field_error(response, "date_of_birth")
    assert not Patient.objects.exists()


def test_second_patient_with_the_same_id_is_a_field_error(clinician_api):
    assert post_patient(clinician_api).status_code == 201

    assert_field_error(post_patient(clinician_api, name="王小明二"), "id_number")
    assert Patient.objects.count() == 1


def test_unknown_allergy_herb_is_a_field_error_naming_it(clinician_api):
    messages = assert_field_error(post_patient(clinician_api, allergies=["甘草", "不知名草"]), "allergies")

    assert "不知名草" in " ".join(messages)
    assert not Patient.objects.exists()


def test_allergies_given_by_alias_are_stored_as_catalogue_herbs(clinician_api):
    response = post_patient(clinician_api, allergies=["元胡", "丹皮"])

    assert response.status_code == 201, response.content
    assert set(response.json()["allergies"]) == {"延胡索", "牡丹皮"}
    patient = Patient.objects.get()
    assert set(patient.allergies.values_list("name", flat=True)) == {"延胡索", "牡丹皮"}


@pytest.fixture
def township_patient(county):
    return PatientFactory(name="张三丰", mobile="13800001111", institution=county["T001"])


def test_clinician_can_read_and_change_a_patient_of_the_own_township(clinician_api, township_patient):
    url = f"{URL}{township_patient.pk}/"

    assert clinician_api.get(url).json()["name"] == "张三丰"
    response = clinician_api.patch(url, {"mobile": "13800002222"}, content_type="application/json")

    assert response.status_code == 200, response.content
    township_patient.refresh_from_db()
    assert township_patient.mobile == "13800002222"


def test_outsider_clinician_cannot_read_or_change_another_townships_patient(api, outsider, township_patient):
    api.force_login(outsider)
    url = f"{URL}{township_patient.pk}/"

    assert api.get(url).status_code == 404
    assert api.patch(url, {"mobile": "13800009999"}, content_type="application/json").status_code == 404
    township_patient.refresh_from_db()
    assert township_patient.mobile == "13800001111"


def test_outsider_clinician_does_not_see_another_townships_patient_in_the_list(api, outsider, township_patient):
    api.force_login(outsider)

    body = api.get(URL).json()

    assert body["count"] == 0
    assert body["results"] == []


def test_courier_is_refused_the_patients_api(api, courier, township_patient):
    api.force_login(courier)

    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}{township_patient.pk}/").status_code == 403
    assert post_patient(api).status_code == 403
    assert Patient.objects.count() == 1


def test_patient_list_searches_by_name_and_by_mobile(clinician_api, county, township_patient):
    PatientFactory(name="李四", mobile="13900002222", institution=county["V001"])

    def found(q):
        return [row["name"] for row in clinician_api.get(URL, {"q": q}).json()["results"]]

    assert found("三丰") == ["张三丰"]
    assert found("139000") == ["李四"]
    assert sorted(found("")) == ["张三丰", "李四"]


@pytest.mark.parametrize("q", ["", "三丰", "139000", "1380", "nobody"])
def test_the_patient_api_and_page_list_the_same_patients_for_the_same_search(
    clinician_api, county, township_patient, q
):
    PatientFactory(name="李四", mobile="13900002222", institution=county["V001"])

    api_names = sorted(row["name"] for row in clinician_api.get(URL, {"q": q}).json()["results"])
    page = clinician_api.get("/patients/", {"q": q})

    assert page.status_code == 200
    assert sorted(patient.name for patient in page.context["page"]) == api_names


def test_a_null_character_in_the_search_is_a_400_at_q_on_the_api_and_the_page(clinician_api, township_patient):
    response = clinician_api.get(URL, {"q": "张\x00"})
    page = clinician_api.get("/patients/", {"q": "张\x00"})

    assert response.status_code == 400 and response.json()["errors"].keys() == {"q"}
    assert page.status_code == 400 and "page" not in page.context  # core.middleware refused it before the view
    assert "q: " in page.content.decode()


def test_patient_list_queries_do_not_grow_with_the_number_of_patients(clinician_api, county, catalogue):
    herbs = list(catalogue.filter(name__in=["甘草", "白芍"]))

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert clinician_api.get(URL).status_code == 200
        return len(captured)

    def register(count):
        for patient in PatientFactory.create_batch(count, institution=county["T001"]):
            patient.allergies.set(herbs)

    register(2)
    few = queries_for_list()
    register(8)

    assert queries_for_list() == few


# --- The registration page ----------------------------------------------------------------------


def form_data(**values):
    data = {
        "name": "王小明",
        "id_number": resident_id(),
        "sex": "",
        "date_of_birth": "",
        "mobile": "13912345678",
        "township": "",
        "address": "",
        "allergies": "",
        "allergy_notes": "",
        "notes": "",
    }
    data.update(values)
    return data


def test_registration_page_shows_an_id_error_next_to_the_id_field_and_writes_nothing(client, clinician, catalogue):
    client.force_login(clinician)
    bad = wrong_check(resident_id())

    response = client.post("/patients/new/", form_data(id_number=bad))

    assert response.status_code == 200
    message = id_message(bad)
    assert response.context["form"].errors["id_number"] == [message]
    html = response.content.decode()
    id_paragraph = next(p for p in re.findall(r"<p class=\"field.*?</p>", html, flags=re.S) if 'name="id_number"' in p)
    assert escape(message) in id_paragraph
    assert not Patient.objects.exists()


def test_registration_page_registers_a_valid_patient_and_redirects_to_the_list(client, clinician, catalogue):
    client.force_login(clinician)

    response = client.post(
        "/patients/new/", form_data(id_number=resident_id("19921129", "042"), allergies="元胡、甘草")
    )

    assert response.status_code == 302
    assert response.url == "/patients/"
    patient = Patient.objects.get()
    assert (patient.institution.code, patient.date_of_birth, patient.sex) == ("T001", date(1992, 11, 29), "F")
    assert set(patient.allergies.values_list("name", flat=True)) == {"延胡索", "甘草"}
