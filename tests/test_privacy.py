"""Patient data is not kept in caches: every page and API response of the access matrix, the
patient's and prescription's own pages, and the tracking page send `Cache-Control: no-store`; the
photo views `private, no-store`; static files keep their long caching."""

import pytest
from django.urls import reverse

from decoction.models import StationPhoto
from prescriptions.workflow import Stage

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
