"""The clinician's editor in a real browser, keyboard only, with a real worker auditing the
submitted prescription."""

import pytest

from prescriptions.models import Prescription

from .factories import PatientFactory
from .workers import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# (what the clinician types, the herb it must pick, grams)
ROWS = [
    ("dangshen", "党参", "9"),
    ("baizhu", "白术", "9"),
    ("fuling", "茯苓", "12"),
    ("chenpi", "陈皮", "6"),
    ("chaihu", "柴胡", "6"),
    ("danggui", "当归", "9"),
    ("bs", "白芍", "9"),
    ("chuanxiong", "川芎", "6"),
    ("dazao", "大枣", "10"),
    ("shengjiang", "生姜", "6"),
    ("gc", "甘草", "6"),
    ("gansui", "甘遂", "1"),
]


def type_row(page, query, expected, grams):
    """Type into the focused herb cell: the query, Enter to pick, the grams, Enter for the next row."""
    page.keyboard.type(query)
    page.wait_for_selector(".herb-row .suggestions:not([hidden]) li")
    page.keyboard.press("Enter")
    focused_row = page.locator(".herb-row", has=page.locator(".grams:focus"))
    assert focused_row.locator(".herb").input_value() == expected
    page.keyboard.type(grams)
    page.keyboard.press("Enter")


def eighteen(page):
    return page.locator('#findings .finding[data-code="incompatibility.eighteen"]')


def test_clinician_writes_a_twelve_herb_prescription_by_keyboard_double_signs_and_sees_it_audited(
    live_server,
    clinician,
    pharmacist,
    county,
    catalogue,
    page,
):
    patient = PatientFactory(institution=county["T001"], name="键盘患者")
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username").focus()
    page.keyboard.type("clinician")
    page.keyboard.press("Tab")
    page.keyboard.type("pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/prescriptions/new/?patient={patient.pk}")
    page.locator("#disease").focus()
    page.keyboard.type("水肿")
    page.locator("#address").focus()
    page.keyboard.type("白塔乡东村5号")
    page.locator("#doses").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.locator(".herb-row .herb").first.focus()
    for query, expected, grams in ROWS:
        type_row(page, query, expected, grams)

    eighteen(page).wait_for()
    assert "甘草" in eighteen(page).inner_text() and "甘遂" in eighteen(page).inner_text()
    assert page.locator("#signature").is_visible()

    # Remove 甘遂 (Alt+Delete in its row): the warning goes.
    gansui = page.locator(".herb-row", has=page.locator('.herb[value="甘遂"]'))
    page.locator(".herb-row .herb").nth(11).focus()
    assert page.locator(".herb-row .herb").nth(11).input_value() == "甘遂"
    page.keyboard.press("Alt+Delete")
    eighteen(page).wait_for(state="detached")
    assert gansui.count() == 0
    assert page.locator("#signature").is_hidden()

    # Put it back in the empty last row: the warning returns.
    page.locator(".herb-row .herb").last.focus()
    type_row(page, "gansui", "甘遂", "1")
    eighteen(page).wait_for()

    page.locator(".signature-reason").first.focus()
    page.keyboard.type("甘遂半夏汤意，逐水，已告知患者")
    page.locator("#sign-password").focus()
    page.keyboard.type("pw-for-tests-1")

    with celery_worker("editor") as worker:
        page.locator("#submit").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/prescriptions/*/", timeout=10_000)
        status = page.locator("#status")
        assert status.get_attribute("data-status") == "submitted"
        page.locator("#status[data-status='ai_audited']").wait_for(timeout=90_000)
        assert worker.poll() is None
    assert status.inner_text() == "智能审方"
    assert page.locator(".finding.sev-block").first.is_visible()

    prescription = Prescription.objects.get(patient=patient)
    assert prescription.items.count() == 12
    assert prescription.doses == 3
    assert [f["code"] for f in prescription.double_signature["findings"]] == ["incompatibility.eighteen"]
