"""A patient's edits keep a history: one row per change with who, when and each changed field
old → new, written in the transaction of the change by patients.services, and shown on the
patient's page and in the admin — only where the patient itself may be seen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from patients.models import Patient, PatientChange
from patients.services import patient_update

from .factories import PatientFactory, UserFactory
from .test_patients import form_data

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture
def patient(county):
    return PatientFactory(
        institution=county["T001"], name="王小明", mobile="13912345678", address="白塔乡一组", township="白塔乡"
    )


def page_values(patient, **changes):
    current = {
        "name": patient.name,
        "id_number": "",
        "sex": patient.sex,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "mobile": patient.mobile,
        "township": patient.township,
        "address": patient.address,
    }
    return form_data(**{**current, **changes})


def test_a_patient_edit_records_who_changed_what_and_when(client, patient, clinician, centre_admin):
    client.force_login(clinician)
    start = timezone.now()

    saved = client.post(
        f"/patients/{patient.pk}/", page_values(patient, mobile="13800001111", address="白塔乡二组", allergies="甘草")
    )
    client.force_login(centre_admin)
    patched = client.patch(f"/api/v1/patients/{patient.pk}/", {"name": "王晓明"}, content_type="application/json")

    assert (saved.status_code, patched.status_code) == (302, 200)
    second, first = PatientChange.objects.filter(patient=patient)  # newest first
    assert (first.changed_by, second.changed_by) == (clinician, centre_admin)
    assert start <= first.changed_at <= second.changed_at <= timezone.now() + timedelta(seconds=1)
    assert first.changes == {
        "mobile": ["13912345678", "13800001111"],
        "address": ["白塔乡一组", "白塔乡二组"],
        "allergies": ["", "甘草"],
    }
    assert second.changes == {"name": ["王小明", "王晓明"]}


def test_a_save_that_changes_nothing_or_is_refused_records_nothing(client, patient, clinician):
    client.force_login(clinician)

    unchanged = client.post(f"/patients/{patient.pk}/", page_values(patient))
    refused = client.post(f"/patients/{patient.pk}/", page_values(patient, mobile="12345"))

    assert (unchanged.status_code, refused.status_code) == (302, 200)
    assert not PatientChange.objects.exists()
    assert Patient.objects.get(pk=patient.pk).mobile == "13912345678"


def test_the_change_and_its_history_row_are_written_together_or_not_at_all(patient, clinician, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the history could not be written")

    monkeypatch.setattr(PatientChange.objects, "create", fail)

    with pytest.raises(RuntimeError):
        patient_update(actor=clinician, patient=patient, values={"mobile": "13800001111"})

    assert Patient.objects.get(pk=patient.pk).mobile == "13912345678"


def test_the_history_is_shown_on_the_patient_page_and_in_the_admin_only_where_the_patient_is_seen(
    client, patient, clinician, outsider, county_admin, county
):
    patient_update(actor=clinician, patient=patient, values={"mobile": "13800001111", "sex": "M"})
    c002_admin = UserFactory(username="c002admin", institution=county["C002"], roles=[Role.ADMINISTRATOR])

    client.force_login(clinician)
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    client.force_login(county_admin)
    admin_page = client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()

    for shown in (page, admin_page):
        assert "13912345678 → 13800001111" in shown
        assert "女 → 男" in shown
        assert clinician.name in shown
    # Elsewhere the patient, and so its history, does not exist.
    client.force_login(outsider)
    assert client.get(f"/patients/{patient.pk}/").status_code == 404
    client.force_login(c002_admin)
    refused = client.get(f"/admin/patients/patient/{patient.pk}/change/")
    assert refused.status_code == 302 and "13800001111" not in refused.content.decode()


def test_the_admin_shows_a_patient_read_only_so_every_change_goes_through_the_service(client, patient, county_admin):
    client.force_login(county_admin)
    url = f"/admin/patients/patient/{patient.pk}/change/"

    response = client.post(url, {"name": "改名", "mobile": "13800001111"})

    assert response.status_code == 403
    assert Patient.objects.get(pk=patient.pk).name == "王小明"
    assert client.get(url).status_code == 200
