"""Uploads: one size limit (settings.MAX_UPLOAD_BYTES, 5 MB) refused with a 413 before the body is
read, and while it streams when its length was absent or false; photos stored from their pixels
alone, without a comment, EXIF, XMP, ICC profile or PNG text."""

import io
import struct

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.test.client import BOUNDARY, MULTIPART_CONTENT, FakePayload, encode_multipart
from django.urls import reverse
from PIL import Image, ImageCms, PngImagePlugin

from decoction.selectors import STATIONS
from patients.models import ConsultAttachment

from .test_photos import prescription, upload  # noqa: F401 - a submitted prescription of T001's clinician

# What a phone or a messaging app may leave in a photo: the patient's name and mobile.
SECRET = "患者张三 13800138000"
MB = 1024 * 1024


def real_photo(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (180, 60, 60)).save(out, format="JPEG")
    return out.getvalue()


def multipart(photo: bytes) -> bytes:
    return encode_multipart(BOUNDARY, {"kind": "tongue", "image": SimpleUploadedFile("t.jpg", photo, "image/jpeg")})


def body_of_exactly(size: int) -> bytes:
    """A multipart upload of a real photo, padded after its end (Pillow ignores the padding) so the
    whole body is `size` bytes."""
    photo = real_photo()
    overhead = len(multipart(photo))
    body = multipart(photo + b"\0" * (size - overhead))
    assert len(body) == size
    return body


class CountingInput:
    """A wsgi.input that counts the bytes the application reads from it."""

    def __init__(self, data: bytes):
        self.stream = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = self.stream.readline(size)
        self.bytes_read += len(line)
        return line


def post_body(client, url: str, body: bytes) -> tuple:
    """POST `body` as multipart through a wsgi.input that counts reads: (response, bytes read)."""
    counting = CountingInput(body)
    response = client.generic(
        "POST",
        url,
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": counting},
    )
    return response, counting.bytes_read


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- The size limit ---------------------------------------------------------------------------------------------


def test_an_upload_over_the_limit_is_refused_before_the_body_is_read(
    client,
    clinician,
    dispenser,
    prescription,  # noqa: F811
    settings,
    media,
):
    assert settings.MAX_UPLOAD_BYTES == 5 * MB == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    over = body_of_exactly(5 * MB + 1)
    client.force_login(clinician)

    api, api_read = post_body(client, f"/api/v1/prescriptions/{prescription.pk}/photos/", over)

    assert (api.status_code, api_read) == (413, 0)
    assert api.json() == {"detail": "上传的文件超过 5 MB，请选择或拍摄一张更小的照片。", "errors": {}}
    assert not ConsultAttachment.objects.exists()

    # A page (a station's form with its photo) gets the same refusal as a page of the site.
    client.force_login(dispenser)
    page, page_read = post_body(client, reverse("stations:station", args=[next(iter(STATIONS))]), over)

    assert (page.status_code, page_read) == (413, 0)
    assert "上传的文件超过 5 MB" in page.content.decode() and page["Content-Type"].startswith("text/html")


def test_an_upload_of_exactly_the_limit_is_accepted(client, clinician, prescription, media):  # noqa: F811
    client.force_login(clinician)

    response, read = post_body(client, f"/api/v1/prescriptions/{prescription.pk}/photos/", body_of_exactly(5 * MB))

    assert response.status_code == 201, response.content
    assert read == 5 * MB and ConsultAttachment.objects.count() == 1


def test_an_8_9_mb_photo_is_refused(client, clinician, prescription, media):  # noqa: F811
    photo = real_photo((640, 480))
    photo += b"\0" * (int(8.9 * MB) - len(photo))
    client.force_login(clinician)

    response = upload(client, prescription, photo)

    assert response.status_code == 413
    assert not ConsultAttachment.objects.exists()


class CountingPayload(FakePayload):
    """An ASGI body that counts the bytes the application reads from it."""

    bytes_read = 0

    def read(self, *args, **kwargs):
        chunk = super().read(*args, **kwargs)
        self.bytes_read += len(chunk)
        return chunk


@pytest.mark.parametrize("length", ["1000", None], ids=["a false length", "no length"])
def test_an_upload_with_a_false_or_no_length_is_stopped_while_it_streams(
    clinician,
    prescription,  # noqa: F811
    media,
    length,
):
    """Under ASGI Django is handed the whole body whatever Content-Length said; the upload handler
    counts the photo's bytes as the parser streams them and stops at the limit. (Without a length
    Django parses no body at all: the photo is missing, nothing is stored.)"""
    body = multipart(real_photo() + b"\0" * (6 * MB))
    payload = CountingPayload(body)
    headers = [(b"content-type", MULTIPART_CONTENT.encode())]
    if length is not None:
        headers.append((b"content-length", length.encode()))
    asgi = AsyncClient()
    asgi.force_login(clinician)

    response = async_to_sync(asgi.request)(
        method="POST",
        path=f"/api/v1/prescriptions/{prescription.pk}/photos/",
        headers=headers,
        _body_file=payload,
    )

    assert response.status_code == (413 if length else 400)
    assert payload.bytes_read < 5 * MB + MB  # stopped within a chunk or two of the limit
    assert not ConsultAttachment.objects.exists()


# --- Metadata ---------------------------------------------------------------------------------------------------


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif() -> Image.Exif:
    tags = Image.Exif()
    tags[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}  # GPSInfo: where the photo was taken
    tags[0x010F] = "PhoneMaker"  # Make
    tags[0x010E] = SECRET  # ImageDescription
    return tags


def jpeg_with_everything() -> bytes:
    """A JPEG with EXIF (GPS, make, a description), an ICC profile, a comment (COM) and XMP."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 60, 60)).save(out, format="JPEG", exif=exif(), icc_profile=icc_profile())
    data = out.getvalue()
    comment = segment(0xFE, SECRET.encode())
    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><dc:creator>" + SECRET.encode() + b"</dc:creator>")
    return data[:2] + comment + xmp + data[2:]


def png_with_everything() -> bytes:
    """A PNG with tEXt, iTXt and zTXt chunks, eXIf and an ICC profile."""
    text = PngImagePlugin.PngInfo()
    text.add_text("comment", SECRET)
    text.add_itxt("Description", SECRET, lang="zh", tkey="说明")
    text.add_text("Author", SECRET, zip=True)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 60, 60)).save(
        out, format="PNG", pnginfo=text, exif=exif(), icc_profile=icc_profile()
    )
    return out.getvalue()


def header_markers(jpeg: bytes) -> list[int]:
    """The markers of a JPEG's segments from its start to the start of its scan."""
    assert jpeg[:2] == b"\xff\xd8"
    markers, at = [], 2
    while True:
        assert jpeg[at] == 0xFF
        marker = jpeg[at + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")


# A JPEG made of pixels: JFIF (APP0), quantisation and Huffman tables, the frame, the scan. No APP1
# (EXIF, XMP), APP2 (ICC), APP13 (Photoshop/IPTC) nor COM.
PIXELS_ONLY = {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}


@pytest.mark.parametrize("make", [jpeg_with_everything, png_with_everything], ids=["jpeg", "png"])
def test_a_jpeg_comment_and_all_metadata_are_stripped(
    client,
    clinician,
    prescription,  # noqa: F811
    media,
    make,
):
    original = make()
    opened = Image.open(io.BytesIO(original))
    assert {"comment", "exif", "icc_profile"} <= set(opened.info)  # what the upload carries
    client.force_login(clinician)

    response = upload(client, prescription, original, name="tongue.png" if opened.format == "PNG" else "tongue.jpg")

    assert response.status_code == 201, response.content
    with ConsultAttachment.objects.get().image.open("rb") as handle:
        stored = handle.read()
    assert set(header_markers(stored)) <= PIXELS_ONLY
    traces = (
        SECRET.encode(),
        "张三".encode(),
        b"13800138000",
        b"PhoneMaker",
        b"Exif\0",
        b"ns.adobe.com",
        b"ICC_PROFILE",
    )
    assert [trace for trace in traces if trace in stored] == []
    kept = Image.open(io.BytesIO(stored))
    assert set(kept.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
    assert kept.size == (64, 48) and kept.getpixel((32, 24))[0] > 150  # the pixels themselves are kept
