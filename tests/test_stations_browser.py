"""A decoction operator on a tablet: scan (type) the bag code, one form, one tap per station."""

import pytest

from prescriptions.models import Prescription
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def rechecked(clinician, county, catalogue, monkeypatch):
    """A centre-decocted prescription that passed the re-check (earlier stations are tested through the API)."""
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    patient = PatientFactory(institution=county["T001"], name="平板患者")
    prescription, _ = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "咳嗽"},
                "doses": 3,
                "usage": "每日1剂，水煎分2次温服",
                "delivery": "pickup",
                "items": [
                    {"herb": "法半夏", "grams": 9},
                    {"herb": "陈皮", "grams": 9},
                    {"herb": "茯苓", "grams": 12},
                    {"herb": "苦杏仁", "grams": 9, "instruction": "add_later"},
                ],
            }
        ),
    )
    Prescription.objects.filter(pk=prescription.pk).update(status="rechecked")
    return prescription


def scan(page, url, code):
    page.goto(url)
    page.locator("#scan").fill(code)
    page.keyboard.press("Enter")
    page.wait_for_selector("section.step")


def test_operator_scans_the_bag_code_and_advances_soaking_decocting_packaged(
    live_server,
    decoctor,
    county,
    rechecked,
    tablet,
):
    page = tablet
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "decoctor")
    page.fill("#id_password", "pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    code = rechecked.display_number

    scan(page, f"{live_server.url}/stations/soaking/", code)
    page.locator("#tank").fill("A1")
    page.locator("#tank").press("Enter")
    page.wait_for_selector(".message")
    assert "浸泡" in page.locator(".message").inner_text()

    scan(page, f"{live_server.url}/stations/decocting/", code)
    assert "苦杏仁 后下" in page.locator(".steps").inner_text(), "the page prompts the special steps"
    page.locator("#machine").fill("M1")
    page.locator("#machine").press("Enter")
    page.wait_for_selector("[data-error-for='ack_reason']")  # soaked for less than 30 minutes
    page.locator("#machine").fill("M1")
    page.locator("#ack").fill("急诊处方，缩短浸泡")
    page.locator("#ack").press("Enter")
    page.wait_for_selector(".message")

    scan(page, f"{live_server.url}/stations/packaging/", code)
    assert page.locator("#bags").input_value() == "6" and page.locator("#ml").input_value() == "200"
    page.locator("#ack").fill("演示：煎煮时间按机器程序")
    page.locator("#ack").press("Enter")
    page.wait_for_selector(".message")

    rechecked.refresh_from_db()
    assert rechecked.status == "packaged"
    stages = list(rechecked.events.order_by("at").values_list("stage", flat=True))
    assert stages[-3:] == ["soaking", "decocting", "packaged"]
