"""The clinician's day in a real browser at a desktop's 1366×768: the rejected prescription
waiting on the home page, 开方 into the editor, the patient chosen inside it, the previous
prescription copied, 桂枝汤 inserted whole with prices, a missing signature reason shown at its
finding, the signed submit; and the patient's stored date of birth on the edit page."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalogue.models import Herb
from prescriptions.models import Prescription

from .factories import PatientFactory
from .test_clinician_day import PASSWORD, reject, write_prescription

pytestmark = pytest.mark.browser

GUIZHI_TANG = ["桂枝", "白芍", "生姜", "炙甘草", "大枣"]


@pytest.fixture
def rejected(clinician, pharmacist, county, catalogue, enqueued):
    patient = PatientFactory(institution=county["T001"], name="周秀兰", date_of_birth=date(1962, 9, 8))
    Herb.objects.filter(name__in=["甘草", "甘遂", *GUIZHI_TANG]).update(price_per_g=Decimal("0.1000"))
    return reject(write_prescription(clinician, patient), pharmacist, reason="甘遂用量请再斟酌")


def test_a_clinicians_day_from_a_returned_prescription_to_a_signed_submit(live_server, clinician, rejected, desktop):
    page, patient = desktop, rejected.patient
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "clinician")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")

    waiting = page.locator("#waiting")
    assert rejected.display_number in waiting.inner_text() and "甘遂用量请再斟酌" in waiting.inner_text()

    page.locator("nav.nav a", has_text="开方").click()
    page.wait_for_url(f"{live_server.url}/prescriptions/new/")
    assert page.locator("#patient-q").is_visible(), "开方 opens the editor at the patient choice"
    page.keyboard.type("周秀")  # the search field has the focus
    page.keyboard.press("Enter")
    page.locator(".patient-choices a", has_text="周秀兰").click()
    page.wait_for_url(f"**/prescriptions/new/?patient={patient.pk}")

    history = page.locator("#history")
    assert rejected.display_number in history.inner_text() and "十八反" in history.inner_text()
    page.locator(".copy-previous").first.click()
    herbs = page.locator(".herb-row .herb")
    assert [herbs.nth(i).input_value() for i in range(2)] == ["甘草", "甘遂"]
    assert page.locator("#disease").input_value() == "水肿"

    page.locator("#formula-search").focus()
    page.keyboard.type("桂枝汤")
    page.wait_for_selector("#formula-suggestions:not([hidden]) li")
    assert "桂枝汤" in page.locator("#formula-suggestions li").first.inner_text()
    page.keyboard.press("Enter")
    names = [herbs.nth(i).input_value() for i in range(herbs.count())]
    assert names[:7] == ["甘草", "甘遂", *GUIZHI_TANG], "every herb of the formula, 大枣 too"
    jujube = page.locator(".herb-row").nth(6)
    assert "3枚" in jujube.inner_text(), "the amount as the formula writes it stays in sight"
    expect(page.locator(".herb-row .line-price:not(:empty)")).to_have_count(7)
    assert jujube.locator(".line-price").inner_text() == "1.80"  # 6 g × 3 doses × 0.10 yuan

    eighteen = page.locator('#findings .finding.sev-block[data-code="incompatibility.eighteen"]').first
    eighteen.wait_for()
    page.locator("#sign-password").fill(PASSWORD)
    page.locator("#submit").click()
    missing = eighteen.locator(".reason .error")
    expect(missing).to_contain_text("甘草与甘遂")  # the missing reason, in the finding it belongs to
    assert page.locator("#form-error").inner_text() == ""
    # The focus lands on the error summary; its link leads to the reason field.
    assert page.locator("#error-summary:focus").count() == 1
    page.locator("#error-summary a", has_text="签字理由").first.click()
    assert page.locator(".signature-reason:focus").count() == 1
    assert page.locator(".signature-reason:focus").get_attribute("aria-invalid") == "true"

    for reason in page.locator(".signature-reason").all():
        reason.fill("甘遂半夏汤意，逐水，已告知患者")
    page.locator("#sign-password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url(f"{live_server.url}/prescriptions/*/", timeout=10_000)

    submitted = Prescription.objects.filter(patient=patient).exclude(pk=rejected.pk).get()
    assert [(i.herb.name, i.grams) for i in submitted.items.all()][-1] == ("大枣", Decimal("6.00"))
    assert submitted.double_signature["findings"][0]["reason"] == "甘遂半夏汤意，逐水，已告知患者"

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    assert page.locator("#id_date_of_birth").input_value() == "1962-09-08"
