"""The editor's suggestions and findings in a real browser: ranked by the county's use, toxic items
marked, findings titled in Chinese with their source and 药典 text."""

import pytest
from playwright.sync_api import expect

from prescriptions.services import PrescriptionForm, prescription_submit_for
from prescriptions.services.herb_use import herb_use_refresh
from rules.data import CODES

from .factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_cache", "enqueued")]


def prescribe(clinician, patient, herb, grams, times):
    for _ in range(times):
        form = PrescriptionForm.of(
            {
                "items": [{"herb": herb, "grams": grams}],
                "doses": 3,
                "usage": "每日1剂，水煎分2次温服",
                "consult": {"tcm_disease": "感冒"},
                "delivery": "pickup",
            }
        )
        prescription_submit_for(actor=clinician, patient=patient.pk, form=form)


def log_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "clinician")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_gz_then_enter_picks_the_herb_the_county_prescribes_most_and_findings_show_chinese_titles(
    live_server,
    clinician,
    county,
    catalogue,
    page,
):
    patient = PatientFactory(institution=county["T001"], name="排序患者")
    prescribe(clinician, patient, "桂枝", "9", times=3)
    prescribe(clinician, patient, "广枣", "2", times=1)
    herb_use_refresh()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/prescriptions/new/?patient={patient.pk}")

    page.locator(".herb-row .herb").first.focus()
    page.keyboard.type("gz")
    page.wait_for_selector(".herb-row .suggestions:not([hidden]) li")
    page.keyboard.press("Enter")
    assert page.locator(".herb-row .herb").first.input_value() == "桂枝"
    page.keyboard.type("9")
    page.keyboard.press("Enter")

    # 轻粉 (a mercury compound on the 28 list) is offered only with a visible, labelled toxic mark.
    # (For a bare "粉" it now ranks below the powders the county and the formulas use, outside
    # the eight suggestions shown.)
    page.keyboard.type("轻")
    qingfen = page.locator(".herb-row .suggestions li", has_text="轻粉")
    qingfen.wait_for()
    mark = qingfen.locator(".toxic-mark")
    assert mark.is_visible()
    assert "毒性" in mark.get_attribute("aria-label")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")

    for query, grams in (("gc", "6"), ("gansui", "1")):
        page.keyboard.type(query)
        page.wait_for_selector(".herb-row .suggestions:not([hidden]) li")
        page.keyboard.press("Enter")
        page.keyboard.type(grams)
        page.keyboard.press("Enter")

    finding = page.locator('#findings .finding[data-code="incompatibility.eighteen"]')
    finding.wait_for()
    assert finding.locator(".finding-title").inner_text() == CODES["incompatibility.eighteen"][1]
    assert "incompatibility" not in finding.inner_text()
    assert finding.locator(".finding-source").inner_text().strip().startswith("依据：")

    button = finding.locator(".excerpt-toggle").first
    button.click()
    excerpt = finding.locator(".excerpt").first
    excerpt.wait_for()
    assert button.get_attribute("aria-expanded") == "true"
    expect(excerpt).to_contain_text("【用法与用量】")  # fetched after the click: wait for it
