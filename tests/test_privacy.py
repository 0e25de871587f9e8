"""Patient data is not kept in caches: every page and API response of the access matrix, the
patient's and prescription's own pages, and the tracking page send `Cache-Control: no-store`; the
photo views `private, no-store`; static files keep their long caching."""

import pytest
from django.urls import reverse

from decoction.models import StationPhoto
from patients.models import Patient
from prescriptions.workflow import Stage

from .factories import PatientFactory
from .test_access_matrix import (  # noqa: F401 - the shared personas and T001's prescription
    ANONYMOUS,
    MATRIX,
    PERSONAS,
    as_user,
    others,
    personas,
    photo_upload,
    send,
    t001,
)
from .test_patients import form_data, post_patient, resident_id
from .test_tracking import api_url, page_url

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def test_pages_and_api_with_personal_data_send_cache_control_no_store(client, t001):  # noqa: F811
    """Every URL of the access matrix as every persona and an anonymous visitor, then the pages and
    API of one prescription and its patient, and the patient's tracking page and JSON: each 200
    says no-store."""
    p, patient = t001.prescription, t001.patient
    answered, stored = [], []

    def check(who, url, response):
        if response.status_code == 200:
            answered.append((who, url))
            if "no-store" not in directives(response):
                stored.append((who, url, response.get("Cache-Control")))

    for name, row in MATRIX.items():
        url = reverse(name)
        for who in (*PERSONAS, ANONYMOUS):
            check(who, url, send(as_user(client, t001.users.get(who)), row, url))

    own = [
        f"/prescriptions/{p.pk}/",
        f"/api/v1/prescriptions/{p.pk}/",
        f"/patients/{patient.pk}/",
        f"/api/v1/patients/{patient.pk}/",
        f"/audit/{p.pk}/",
        f"/patients/?q={patient.name}",
        f"/api/v1/patients/?q={patient.mobile}",
    ]
    for who in ("clinician", "county_admin", "pharmacist"):
        for url in own:
            check(who, url, as_user(client, t001.users[who]).get(url))
    as_user(client, None)
    for url in (page_url(p), api_url(p)):
        check(ANONYMOUS, url, client.get(url))

    # The walk reached the pages that matter (not only refusals).
    assert {("clinician", f"/patients/{patient.pk}/"), ("pharmacist", f"/audit/{p.pk}/")} <= set(answered)
    assert (ANONYMOUS, page_url(p)) in answered and len(answered) > 100
    assert stored == []


def test_photos_are_served_private_no_store(client, t001):  # noqa: F811
    clinician, dispenser = t001.users["clinician"], t001.users["dispenser"]
    station_photo = StationPhoto.objects.create(
        prescription=t001.prescription, stage=Stage.DISPENSED, image=photo_upload("herbs.jpg"), uploaded_by=dispenser
    )
    consult = as_user(client, clinician).get(f"/prescriptions/photos/{t001.attachment.pk}/")
    station = as_user(client, dispenser).get(f"/stations/photos/{station_photo.pk}/")

    assert (consult.status_code, station.status_code) == (200, 200)
    assert directives(consult) == directives(station) == {"private", "no-store"}


def test_static_files_keep_their_caching(client, settings):
    """no-store is for what the application renders; whitenoise answers static files first."""
    settings.WHITENOISE_USE_FINDERS = True  # serve from static/ without a collectstatic

    response = client.get(f"{settings.STATIC_URL}css/app.css")

    assert response.status_code == 200
    assert "no-store" not in directives(response) and "max-age=60" in directives(response)


# --- The resident ID number of a person registered elsewhere -----------------------------------------------------


def registered(response) -> dict:
    """What a registration answers, without what differs for every patient (ids, times, names)."""
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        return {"status": response.status_code, "fields": sorted(body), "institution": body.get("institution_code")}
    return {"status": response.status_code, "to": response.get("Location")}


def test_a_duplicate_national_id_elsewhere_in_the_county_is_not_disclosed(client, county, outsider, county_admin):
    """张三 is a patient of T001. A clinician of T003, who may not see T001, registers a person with
    his ID number, on the page and through the API: the answer is the one a resident never seen
    before gets — the registration goes through at T003 — and says nothing of T001's record. The
    county's administrator, whose subtree holds both, finds both by the ID number."""
    at_t001 = {
        kind: PatientFactory(institution=county["T001"], name=f"张三{kind}", id_number=resident_id(sequence=sequence))
        for kind, sequence in (("page", "123"), ("api", "125"))
    }
    client.force_login(outsider)

    answers = {
        "page, registered at T001": client.post("/patients/new/", form_data(id_number=at_t001["page"].id_number)),
        "page, never seen": client.post("/patients/new/", form_data(id_number=resident_id(sequence="127"))),
        "api, registered at T001": post_patient(client, id_number=at_t001["api"].id_number),
        "api, never seen": post_patient(client, id_number=resident_id(sequence="129")),
    }

    got = {why: registered(response) for why, response in answers.items()}
    assert got["page, registered at T001"] == got["page, never seen"] == {"status": 302, "to": "/patients/"}
    assert got["api, registered at T001"] == got["api, never seen"]
    assert got["api, never seen"]["status"] == 201 and got["api, never seen"]["institution"] == "T003"
    for response in answers.values():
        shown = response.content.decode() + " ".join(str(m) for m in response.wsgi_request._messages)
        assert "张三" not in shown and "白塔" not in shown and "T001" not in shown
    for patient in at_t001.values():
        copies = Patient.objects.filter(id_number=patient.id_number)
        assert {p.institution.code for p in copies} == {"T001", "T003"}
        assert Patient.objects.get(pk=patient.pk).name == patient.name  # T001's record is untouched
        found = as_user(client, county_admin).get("/api/v1/patients/", {"q": patient.id_number}).json()
        assert {row["institution_code"] for row in found["results"]} == {"T001", "T003"}
        client.force_login(outsider)


def test_a_duplicate_national_id_the_clinician_may_see_is_named_and_not_registered_again(client, county, clinician):
    """Inside what the clinician may see (T001 and its village clinic V001) the duplicate is named,
    so the clinician opens the existing record instead."""
    village = PatientFactory(institution=county["V001"], name="李四", id_number=resident_id(sequence="131"))
    client.force_login(clinician)

    page = client.post("/patients/new/", form_data(id_number=village.id_number))
    api = post_patient(client, id_number=village.id_number)

    assert page.status_code == 200 and api.status_code == 400
    message = "李四（白塔村卫生室）已用此身份证号登记，请打开其档案。"
    assert page.context["form"].errors["id_number"] == [message]
    assert api.json()["errors"]["id_number"] == [message]
    assert Patient.objects.filter(id_number=village.id_number).count() == 1
