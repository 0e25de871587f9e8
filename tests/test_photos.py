"""Consult photos: checked by content, stored without EXIF, served only to those who may see them."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from patients.models import ConsultAttachment
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .factories import PatientFactory


def jpeg_with_gps(size=(64, 48)) -> bytes:
    image = Image.new("RGB", size, (180, 60, 60))
    exif = Image.Exif()
    exif[0x8825] = {2: (30.0, 15.0, 0.0)}  # GPSInfo: a latitude
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def prescription(clinician, county, catalogue, monkeypatch):
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    patient = PatientFactory(institution=county["T001"])
    prescription, _ = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "咳嗽"},
                "doses": 3,
                "usage": "每日1剂",
                "delivery": "pickup",
                "items": [{"herb": "桂枝", "grams": 9}],
            }
        ),
    )
    return prescription


def upload(client, prescription, data, name="tongue.jpg", kind="tongue"):
    return client.post(
        f"/api/v1/prescriptions/{prescription.pk}/photos/",
        {"kind": kind, "image": SimpleUploadedFile(name, data, content_type="image/jpeg")},
    )


def test_a_real_photo_is_stored_as_a_jpeg_without_exif(client, clinician, prescription, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(clinician)
    assert Image.open(io.BytesIO(jpeg_with_gps())).getexif()  # the upload carries EXIF

    response = upload(client, prescription, jpeg_with_gps())

    assert response.status_code == 201, response.content
    stored = ConsultAttachment.objects.get()
    with stored.image.open("rb") as handle:
        image = Image.open(handle)
        assert image.format == "JPEG"
        assert not image.getexif(), "location and camera data must be stripped"
    photo = client.get(response.json()["url"])
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00 this is not an image at all", "tongue.jpg"),
        (b"%PDF-1.4 pretending", "face.png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "cut.jpg"),  # a JPEG header and nothing else
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_whatever_its_name(
    client, clinician, prescription, data, name, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(clinician)
    response = upload(client, prescription, data, name=name)
    assert response.status_code == 400
    assert "image" in response.json()["errors"]
    assert not ConsultAttachment.objects.exists()


def test_a_decompression_bomb_is_refused(client, clinician, prescription, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(clinician)
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, format="PNG")  # 144 megapixels in a small file
    response = upload(client, prescription, out.getvalue(), name="bomb.png")
    assert response.status_code == 400
    assert not ConsultAttachment.objects.exists()


def test_an_unknown_photo_kind_is_a_field_error(client, clinician, prescription, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(clinician)
    response = upload(client, prescription, jpeg_with_gps(), kind="xray")
    assert response.status_code == 400 and "kind" in response.json()["errors"]


def test_an_outsider_cannot_see_or_add_photos(client, clinician, outsider, prescription, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(clinician)
    url = upload(client, prescription, jpeg_with_gps()).json()["url"]
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert upload(client, prescription, jpeg_with_gps()).status_code == 404
