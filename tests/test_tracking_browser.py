"""The patient opens the tracking link on a phone: where the medicine is and when it should arrive are
on the first screen, and the page never scrolls sideways."""

import re

import pytest
from django.core.cache import cache

from prescriptions.workflow import Stage

from .browsers import site_only
from .test_tracking import ZH, prescription_at

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844


@pytest.fixture(autouse=True)
def quiet_broker(monkeypatch):
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)


@pytest.fixture
def phone(browser):
    cache.clear()
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True)
    with site_only(context, "the tracking page") as page:
        yield page
    cache.clear()


def on_first_screen(page, selector: str) -> None:
    element = page.locator(selector)
    assert element.is_visible(), f"{selector} is visible"
    box = element.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{selector} fits the width: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, f"{selector} is above the fold: {box}"


def test_on_a_phone_the_current_stage_and_the_expected_time_are_on_the_first_screen_without_sideways_scrolling(
    live_server, clinician, catalogue, phone
):
    prescription = prescription_at(clinician, Stage.DECOCTING)

    phone.goto(f"{live_server.url}/t/{prescription.tracking_token}/")

    assert phone.locator("#current").inner_text().strip() == ZH[Stage.DECOCTING]
    assert re.fullmatch(r"\d\d-\d\d \d\d:\d\d", phone.locator("#expected strong").inner_text().strip())
    on_first_screen(phone, "#current")
    on_first_screen(phone, "#expected")
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH
