"""A remote consult in real browsers: the village doctor files it on a tablet with a tongue photo
(a file that is not a photo is refused at its field first); the expert at the county hospital
claims it and prescribes in the normal editor; the village doctor sees the prescription and
prints its receipt with the tracking QR code."""

import io

import pytest
from PIL import Image

from prescriptions.models import Prescription
from teleconsult.models import RemoteConsult

from .browsers import site_only
from .factories import PatientFactory
from .test_editor_browser import type_row

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests-1"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (190, 90, 90)).save(out, format="JPEG")
    return out.getvalue()


def sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_village_doctor_files_a_consult_the_expert_prescribes_and_the_receipt_has_the_qr(
    live_server,
    browser,
    county,
    catalogue,
    enqueued,
    village_doctor,
    expert,
    settings,
    tmp_path,  # noqa: F811
):
    settings.MEDIA_ROOT = tmp_path
    PatientFactory(institution=county["V001"], name="陈阿婆", address="白塔村3组")
    base = live_server.url
    clinic = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    hospital = browser.new_context(viewport={"width": 1366, "height": 768})
    with site_only(clinic, "the village doctor's pages") as doctor, site_only(hospital, "the expert's pages") as page:
        sign_in(doctor, base, "villagedoc")
        doctor.goto(f"{base}/remote-consults/")
        doctor.locator("#new-consult").click()
        doctor.fill("#patient-q", "陈阿婆")
        doctor.keyboard.press("Enter")
        doctor.get_by_role("link", name="陈阿婆").click()
        doctor.fill("#id_chief_complaint", "咳嗽三天，痰白清稀")
        doctor.fill("#id_pulse", "浮紧")
        doctor.fill("#id_temperature_c", "37.6")
        not_a_photo = {"name": "tongue.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1"}
        doctor.set_input_files("#id_tongue_photo", not_a_photo)
        doctor.get_by_role("button", name="发送给专家").click()

        error = doctor.locator("p.field.has-error:has(#id_tongue_photo) .error")
        assert error.is_visible() and RemoteConsult.objects.count() == 0
        doctor.set_input_files("#id_tongue_photo", {"name": "tongue.jpg", "mimeType": "image/jpeg", "buffer": jpeg()})
        doctor.get_by_role("button", name="发送给专家").click()
        doctor.wait_for_url(lambda url: "/remote-consults/new/" not in url)
        assert doctor.locator("#consult-status").inner_text() == "等待专家"
        consult = RemoteConsult.objects.get()

        sign_in(page, base, "expert")
        page.goto(f"{base}/remote-consults/")
        page.get_by_role("link", name="咳嗽三天，痰白清稀").click()
        # The tongue photo loads from the consult's photo URL (checked for who may see it).
        page.wait_for_function("() => [...document.querySelectorAll('.photos img')].some(i => i.naturalWidth > 0)")
        page.locator("#claim").click()
        assert page.locator("#claimed-by").inner_text() == "张专家"
        page.locator("#prescribe").click()
        assert page.locator("#chief").input_value() == "咳嗽三天，痰白清稀"
        assert page.locator("#pulse").input_value() == "浮紧"
        page.fill("#disease", "咳嗽")
        page.locator('input[name="delivery"][value="pickup"]').check()
        page.locator("#rows .herb").first.focus()
        for query, herb, grams in [("guizhi", "桂枝", "9"), ("baishao", "白芍", "9"), ("gancao", "甘草", "6")]:
            type_row(page, query, herb, grams)
        page.locator("#submit").click()
        page.wait_for_url(lambda url: "/prescriptions/" in url and "/remote-consults/" not in url)
        prescription = Prescription.objects.get()
        assert prescription.institution == county["V001"] and prescription.consult.mode == "remote"

        doctor.reload()
        assert doctor.locator("#consult-status").inner_text() == "已开处方"
        assert doctor.locator("#prescription-link").inner_text() == prescription.display_number
        doctor.locator("#receipt-link").click()
        assert doctor.locator(".qr svg").is_visible()
        assert doctor.locator(".tracking-url").inner_text() == prescription.tracking_url
    consult.refresh_from_db()
    assert [e.step for e in consult.events.all()] == ["requested", "claimed", "prescribed"]
