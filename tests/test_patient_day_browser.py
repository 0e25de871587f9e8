"""The patient's day on a phone (390 × 844): after a failed delivery attempt the page shows the new
expected time; a rejected prescription says what happens next with a thumb-sized tap-to-call link;
a wrong link is the site's Chinese 404 page; a wrong try at the last 4 digits says how many tries
are left."""

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.services import stop_failed
from prescriptions.services import prescription_transition
from prescriptions.workflow import Stage

from .test_patient_day import shipped
from .test_tracking import prescription_at, zhang  # noqa: F401 - a fixture
from .test_tracking_browser import WIDTH, on_first_screen, phone, quiet_broker  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

TAP = 44  # px: the smallest comfortable touch target (Apple HIG; WCAG 2.5.5)


def test_after_a_failed_delivery_attempt_the_phone_shows_the_new_expected_time(
    live_server,
    clinician,
    courier,
    catalogue,
    phone,  # noqa: F811
):
    prescription = shipped(clinician, courier)
    url = f"{live_server.url}/t/{prescription.tracking_token}/"
    phone.goto(url)  # the page is cached now, with the first expected time
    retry_at = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=9, minute=15)

    stop_failed(actor=courier, prescription=prescription, reason="家中无人", retry_at=retry_at)
    phone.goto(url)

    assert phone.locator("#attempt-failed").inner_text() == "本次配送未能送达，配送员会再次上门。"
    assert phone.locator("#expected").inner_text().startswith("新的预计送达：")
    assert phone.locator("#expected strong").inner_text() == f"{retry_at:%m-%d} 09:15"
    on_first_screen(phone, "#expected")


def test_a_rejected_prescription_says_what_next_with_a_tap_to_call_link_of_at_least_44_px(
    live_server,
    clinician,
    pharmacist,
    catalogue,
    phone,  # noqa: F811
):
    clinician.institution.phone = "0571-6000 3001"
    clinician.institution.save()
    prescription = prescription_at(clinician, Stage.AI_AUDITED)
    prescription_transition(prescription=prescription, to=Stage.REJECTED, actor=pharmacist)

    phone.goto(f"{live_server.url}/t/{prescription.tracking_token}/")

    assert "医师会联系您重新开方" in phone.locator("#next").inner_text()
    call = phone.locator("#call")
    assert call.get_attribute("href") == "tel:0571-60003001"
    box = call.bounding_box()
    assert box["width"] >= TAP and box["height"] >= TAP, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_a_wrong_link_shows_the_chinese_404_page(live_server, db, phone):  # noqa: F811
    response = phone.goto(f"{live_server.url}/t/not-a-real-token/")

    assert response.status == 404
    assert phone.locator("html").get_attribute("lang") == "zh-hans"
    assert phone.locator("h1").inner_text() == "找不到这个页面"
    assert phone.locator(".topbar .brand").inner_text() == "县域中药处方流转平台"
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_a_wrong_last_4_shows_how_many_tries_are_left(
    live_server,
    clinician,
    catalogue,
    zhang,  # noqa: F811
    phone,  # noqa: F811
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)
    phone.goto(f"{live_server.url}/t/{prescription.tracking_token}/")

    phone.fill("#last4", "0000")
    phone.click(".verify button")

    assert phone.locator(".error").inner_text() == "手机号后4位不正确。"
    assert phone.locator("#tries-left").inner_text() == "还可以再试 4 次。"
