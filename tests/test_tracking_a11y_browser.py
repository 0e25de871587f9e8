"""The patient's tracking page on a phone, for everyone who reads it (issue 25): the timeline says which
stage is the current one to a screen reader, the stages still to come are readable (≥ 4.5:1), the
hospital's number is a large call button, the last-4 field has a label one can see, and axe-core finds
no WCAG 2.1 A/AA violation before the check, after wrong digits and after the right ones."""

import pytest

from prescriptions.workflow import Stage

from .axe import violations
from .test_tracking import prescription_at, zhang  # noqa: F401 - a patient whose mobile ends in 5678
from .test_tracking_browser import WIDTH, phone, quiet_broker  # noqa: F401 - the phone and its page

pytestmark = pytest.mark.browser

# WCAG 2.x relative luminance and contrast ratio, computed from the colours the browser rendered.
CONTRAST = """(element) => {
  const rgb = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  let back = element;
  while (back && getComputedStyle(back).backgroundColor.match(/[\\d.]+/g).length === 4
         && Number(getComputedStyle(back).backgroundColor.match(/[\\d.]+/g)[3]) === 0) back = back.parentElement;
  const [a, b] = [lum(rgb(getComputedStyle(element).color)), lum(rgb(getComputedStyle(back).backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture
def decocting(clinician, catalogue, zhang):  # noqa: F811
    clinician.institution.phone = "0571-6000 3001"
    clinician.institution.save()
    return prescription_at(clinician, Stage.DECOCTING, patient=zhang)


def test_the_current_stage_of_the_timeline_is_marked_aria_current_step_and_only_that_one(
    live_server,
    decocting,
    phone,  # noqa: F811
):
    phone.goto(f"{live_server.url}/t/{decocting.tracking_token}/")

    marked = phone.locator(".timeline [aria-current]")
    assert marked.count() == 1
    assert marked.get_attribute("aria-current") == "step"
    assert marked.locator(".label").inner_text() == "煎煮"


def test_the_stages_still_to_come_are_readable_at_4_5_to_1(
    live_server,
    decocting,
    phone,  # noqa: F811
):
    phone.goto(f"{live_server.url}/t/{decocting.tracking_token}/")

    pending = phone.locator(".timeline li:not(.done) .label")
    assert pending.count() >= 1, "a decocting prescription has stages still to come"
    for i in range(pending.count()):
        ratio = pending.nth(i).evaluate(CONTRAST)
        assert ratio >= 4.5, f"{pending.nth(i).inner_text()}: {ratio:.2f}:1"


def test_the_hospitals_number_is_a_large_call_button_on_a_prescription_under_way(
    live_server,
    decocting,
    phone,  # noqa: F811
):
    phone.goto(f"{live_server.url}/t/{decocting.tracking_token}/")

    call = phone.locator("a#call")
    assert call.count() == 1, "a call button while the medicine is under way, not only when it stopped"
    assert call.get_attribute("href") == "tel:0571-60003001"
    assert "0571-6000 3001" in call.inner_text()
    box = call.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 48, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    small_calls = phone.evaluate(
        """() => Array.from(document.querySelectorAll('a[href^="tel:"]'))
             .map((a) => a.getBoundingClientRect()).filter((r) => r.height < 48 || r.width < 44).length"""
    )
    assert small_calls == 0, "no other, smaller tel: link"


def test_the_last_4_input_has_a_visible_label(
    live_server,
    decocting,
    phone,  # noqa: F811
):
    phone.goto(f"{live_server.url}/t/{decocting.tracking_token}/")

    label = phone.locator("label[for=last4]")
    assert label.is_visible()
    assert "后4位" in label.inner_text()
    box = label.bounding_box()
    assert box["height"] >= 10 and box["width"] >= 40, box
    field = phone.locator("#last4").bounding_box()
    button = phone.locator(".verify button").bounding_box()
    assert field["height"] >= 48 and button["height"] >= 48, (field, button)


def test_axe_finds_nothing_before_the_check_after_wrong_digits_and_after_the_right_ones(
    live_server,
    decocting,
    phone,  # noqa: F811
):
    phone.goto(f"{live_server.url}/t/{decocting.tracking_token}/")
    assert violations(phone) == []

    phone.fill("#last4", "0000")
    phone.click(".verify button")
    phone.wait_for_selector("#tries-left")
    assert violations(phone) == []

    phone.fill("#last4", "5678")
    phone.click(".verify button")
    phone.wait_for_selector(".usage")
    assert violations(phone) == []
