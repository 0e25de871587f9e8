"""The clinician's day through the pages and services it uses (the browser walk is
tests/test_clinician_day_browser.py): the patient's edit page, the editor's patient choice and
history, the home page's waiting prescriptions, formulas that insert every herb, and a missing
double-signature reason reported at its finding."""

from datetime import date

from .factories import PatientFactory


def test_patient_edit_page_shows_the_stored_date_of_birth_in_the_date_input(client, clinician, county):
    patient = PatientFactory(institution=county["T001"], date_of_birth=date(1980, 5, 17))
    client.force_login(clinician)

    html = client.get(f"/patients/{patient.pk}/").content.decode()

    assert 'type="date"' in html
    assert 'value="1980-05-17"' in html
