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


# --- the application's own limits (core.images), not Pillow's -------------------------------------------------


def image_bytes(size, fmt, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format=fmt)
    return out.getvalue()


def refusal(data: bytes) -> str:
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from core.images import normalize_photo

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        normalize_photo(SimpleUploadedFile("p", data))
    return " ".join(refused.value.messages)


def test_one_pixel_over_the_applications_pixel_limit_is_refused_where_pillow_would_accept_it():
    from core.images import MAX_PIXELS

    width = 10_000
    height = MAX_PIXELS // width + 1
    assert MAX_PIXELS < width * height < Image.MAX_IMAGE_PIXELS, "Pillow alone would open this image"
    assert "too many pixels" in refusal(image_bytes((width, height), "PNG", mode="1"))


def test_one_byte_over_the_applications_upload_limit_is_refused_and_the_limit_itself_is_not(settings):
    from core.images import normalize_photo

    photo = image_bytes((64, 48), "JPEG")
    at_limit = photo + b"\0" * (settings.MAX_UPLOAD_BYTES - len(photo))  # bytes after the JPEG's end are ignored
    assert len(at_limit) == settings.MAX_UPLOAD_BYTES
    assert normalize_photo(SimpleUploadedFile("p.jpg", at_limit)).name.endswith(".jpg")
    assert "larger than 5 MB" in refusal(at_limit + b"\0")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_each_allowed_format_is_stored_as_jpeg(fmt):
    from core.images import ALLOWED_FORMATS, normalize_photo

    assert fmt in ALLOWED_FORMATS
    stored = normalize_photo(SimpleUploadedFile("p", image_bytes((64, 48), fmt)))
    assert Image.open(io.BytesIO(stored.read())).format == "JPEG"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_a_format_pillow_reads_but_the_application_does_not_allow_is_refused(fmt):
    from core.images import ALLOWED_FORMATS

    assert fmt not in ALLOWED_FORMATS
    assert "Upload a JPEG, PNG or WebP photo" in refusal(image_bytes((64, 48), fmt))
