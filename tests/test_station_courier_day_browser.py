"""A station's day on a tablet and a courier's day on a phone (issue 19): gloved hands, so every
control is a large target, typed values survive a warning, a scale can type the weight, the
soaking shows when it is done, opposite actions stand apart, a bag label says how to take a
ready decoction; the courier's page is 配送, one stop at a time, and a failed delivery at night
is tried again inside the station's working hours."""

from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from delivery.models import DeliveryHours, DeliveryStop
from delivery.services import record_shipped, run_create
from prescriptions.models import Prescription
from prescriptions.workflow import DeliveryMode, Stage

from .factories import UserFactory
from .test_tracking import prescription_at

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("enqueued")]

SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    'button, input:not([type=hidden]), select, a.button, .nav a, .station-tabs a, .stop-nav a'))
  .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
  .map((e) => { const r = e.getBoundingClientRect();
                return {control: e.outerHTML.slice(0, 90), width: r.width, height: r.height}; })
  .filter((t) => t.width < 44 || t.height < 44)"""

UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
  .filter((e) => e.getBoundingClientRect().width > 0)
  .filter((e) => { const label = e.closest('label') || (e.id && document.querySelector(`label[for="${e.id}"]`));
                   return !label || label.getBoundingClientRect().width === 0 || !label.innerText.trim(); })
  .map((e) => e.outerHTML.slice(0, 90))"""


def log_in(page, url, username):
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")


def scan(page, url, code):
    page.goto(url)
    page.locator("#scan").fill(code)
    page.keyboard.press("Enter")
    page.wait_for_selector("section.step")


def assert_large_and_labelled(page):
    assert page.evaluate(SMALL_TARGETS) == [], "every control is at least 44×44 px"
    assert page.evaluate(UNLABELLED) == [], "every input has a visible label"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    yield context.new_page()
    context.close()


# --- The stations, on a tablet ------------------------------------------------------------------------------


def test_a_typed_machine_number_survives_the_soaking_warning_and_the_timer_shows_when_soaking_is_done(
    live_server,
    decoctor,
    clinician,
    catalogue,
    tablet,
):
    prescription = prescription_at(clinician, Stage.RECHECKED)
    log_in(tablet, live_server.url, "decoctor")

    scan(tablet, f"{live_server.url}/stations/soaking/", prescription.display_number)
    assert_large_and_labelled(tablet)
    tablet.locator("#tank").fill("A1")
    tablet.locator("#tank").press("Enter")
    tablet.wait_for_selector(".message")
    soaked = prescription.events.filter(stage=Stage.SOAKING).latest("at").at

    scan(tablet, f"{live_server.url}/stations/decocting/", prescription.display_number)
    ready_at = timezone.localtime(soaked + timedelta(minutes=30)).strftime("%H:%M")
    assert tablet.locator(".soak-timer .ready-at").inner_text() == ready_at
    assert "可煎煮时间" in tablet.locator(".soak-timer").inner_text()
    assert_large_and_labelled(tablet)
    tablet.locator("#machine").fill("M7")
    tablet.locator("#machine").press("Enter")
    tablet.wait_for_selector("[data-error-for='ack_reason']")  # soaked for less than 30 minutes

    assert tablet.locator("#machine").input_value() == "M7", "the warning keeps what was typed"
    tablet.locator("#ack").fill("急诊处方，缩短浸泡")
    tablet.locator("#ack").press("Enter")
    tablet.wait_for_selector(".message")
    assert Prescription.objects.get(pk=prescription.pk).status == Stage.DECOCTING
    assert prescription.events.get(stage=Stage.DECOCTING).data["machine"] == "M7"


def scale_sends(page, reading: str) -> None:
    """A keyboard-wedge scale types its reading and Enter into the focused field within a few
    milliseconds: the key events in one go, as fast as the scale (Playwright's own typing is a
    round trip per key, which a loaded machine stretches past the burst's 60 ms gap)."""
    page.evaluate(
        """reading => {
            for (const key of [...reading, "Enter"]) {
                const event = new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true});
                document.activeElement.dispatchEvent(event);
            }
        }""",
        reading,
    )


def test_a_keyboard_wedge_scale_fills_the_focused_herbs_weight_and_moves_on_while_typing_still_works(
    live_server,
    dispenser,
    clinician,
    catalogue,
    tablet,
):
    prescription = prescription_at(clinician, Stage.APPROVED, delivery=DeliveryMode.PICKUP)
    log_in(tablet, live_server.url, "dispenser")
    scan(tablet, f"{live_server.url}/stations/dispensing/", prescription.display_number)
    assert_large_and_labelled(tablet)
    weights = tablet.locator("input[data-scale]")

    weights.nth(0).focus()
    scale_sends(tablet, "ST,GS,+0012.5g")
    assert weights.nth(0).input_value() == "12.5"
    assert weights.nth(1).evaluate("e => e === document.activeElement"), "focus moves to the next herb"
    scale_sends(tablet, "0.063kg")
    assert weights.nth(1).input_value() == "63"

    weights.nth(0).fill("")
    weights.nth(0).press_sequentially("13", delay=150)  # a person types, slower than a scale
    assert weights.nth(0).input_value() == "13"
    assert tablet.locator("section.step").is_visible(), "no Enter was sent, nothing was submitted"


# A scale on a serial port, as Web Serial hands it to the page: its readings as bytes, a line each,
# the first one unstable ("US", to be skipped), split across reads as a real port splits them.
FAKE_SERIAL_SCALE = """
Object.defineProperty(navigator, "serial", { value: { requestPort: async () => {
  const chunks = ["US,GS,+0011.9g\\r\\nST,GS,+00", "12.5g\\r\\n", "ST,GS,+0027.0g\\r\\n"];
  const bytes = new TextEncoder();
  const port = {
    opened: null,
    open: async (options) => { port.opened = options; window.__scaleOpened = options; },
    readable: new ReadableStream({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const chunk = chunks.shift();
        if (chunk === undefined) controller.close(); else controller.enqueue(bytes.encode(chunk));
      },
    }),
  };
  return port;
} } });
"""


def test_a_serial_port_scale_fills_each_herbs_weight_in_turn(live_server, dispenser, clinician, catalogue, tablet):
    tablet.add_init_script(FAKE_SERIAL_SCALE)
    prescription = prescription_at(clinician, Stage.APPROVED, delivery=DeliveryMode.PICKUP)
    log_in(tablet, live_server.url, "dispenser")
    scan(tablet, f"{live_server.url}/stations/dispensing/", prescription.display_number)
    weights = tablet.locator("input[data-scale]")
    weights.nth(0).focus()

    tablet.get_by_role("button", name="连接串口电子秤").click()

    expect(weights.nth(1)).to_have_value("27")  # the unstable reading was skipped
    assert weights.nth(0).input_value() == "12.5"
    assert tablet.evaluate("window.__scaleOpened.baudRate") == 9600
    expect(tablet.locator("[data-serial-status]")).to_contain_text("电子秤已断开")  # the port closed
    assert_large_and_labelled(tablet)


def test_re_check_passed_and_send_back_stand_apart(live_server, county, clinician, catalogue, tablet):
    UserFactory(username="pharmacist2", institution=county["P001"], roles=[Role.PHARMACIST])
    prescription = prescription_at(clinician, Stage.DISPENSED, delivery=DeliveryMode.PICKUP)
    log_in(tablet, live_server.url, "pharmacist2")
    scan(tablet, f"{live_server.url}/stations/recheck/", prescription.display_number)
    assert_large_and_labelled(tablet)

    passed = tablet.locator("button[value=rechecked]").bounding_box()
    failed = tablet.locator("button[value=recheck_failed]").bounding_box()

    apart = max(failed["x"] - (passed["x"] + passed["width"]), failed["y"] - (passed["y"] + passed["height"]))
    assert apart >= 48, f"{apart:.0f} px between 复核通过 and 退回调剂"


def test_a_centre_decocted_bags_label_says_how_to_warm_and_take_it_and_never_水煎(
    live_server,
    decoctor,
    clinician,
    catalogue,
    tablet,
):
    prescription = prescription_at(clinician, Stage.DECOCTING, delivery=DeliveryMode.PICKUP)
    log_in(tablet, live_server.url, "decoctor")
    scan(tablet, f"{live_server.url}/stations/packaging/", prescription.display_number)
    assert_large_and_labelled(tablet)
    tablet.locator("#bags").fill("14")
    tablet.locator("#ack").fill("演示：煎煮时间按机器程序")
    tablet.locator("#ack").press("Enter")
    tablet.wait_for_selector(".message")

    tablet.goto(f"{live_server.url}/stations/labels/{prescription.pk}/")
    labels = tablet.locator("section.label")
    assert labels.count() == 14
    text = tablet.locator("body").inner_text()
    assert "水煎" not in text
    assert labels.nth(0).locator(".usage").inner_text() == "隔水加热或温水烫热后服用，每日2次，每次1袋。"


# --- The courier, on a phone --------------------------------------------------------------------------------


def test_the_courier_page_is_called_配送_once_in_the_navigation_also_for_a_superuser_with_roles(
    live_server, courier, county, phone
):
    UserFactory(
        username="root",
        institution=county["D001"],
        is_superuser=True,
        is_staff=True,
        roles=[Role.COURIER, Role.DISPENSER],
    )
    for username in ("courier", "root"):
        phone.context.clear_cookies()
        log_in(phone, live_server.url, username)
        links = phone.locator("nav.nav a").all_inner_texts()
        assert links.count("配送") == 1, (username, links)
        assert links.count("取药") == (1 if username == "root" else 0), (username, links)
        phone.goto(f"{live_server.url}/delivery/")
        assert phone.locator("h1").inner_text() == "配送"


def test_the_courier_sees_one_stop_at_a_time_and_a_failure_at_22_00_is_retried_inside_the_stations_hours(
    live_server, courier, clinician, county, catalogue, phone, monkeypatch
):
    DeliveryHours.objects.create(station=county["D001"], opens_at=time(8, 30), closes_at=time(17, 30))
    first, second, waiting = (prescription_at(clinician, Stage.PACKAGED) for _ in range(3))
    run_create(courier=courier, prescriptions=[first, second], area="白塔乡")
    record_shipped(actor=courier, prescription=first, data={}, files={})
    log_in(phone, live_server.url, "courier")

    phone.goto(f"{live_server.url}/delivery/")
    assert phone.locator(".stop").count() == 1, "one stop at a time"
    assert "第 1 站，共 2 站" in phone.locator(".stop-count").inner_text()
    assert phone.locator(".stop-name").inner_text() == first.patient.name
    assert second.patient.name not in phone.locator("main").inner_text()
    assert_large_and_labelled(phone)
    delivered = phone.locator("button[value=delivered]").bounding_box()
    failed = phone.locator("button[value=failed]").bounding_box()
    assert failed["y"] - (delivered["y"] + delivered["height"]) >= 48, "已送达 and 未送达 stand apart"

    tonight = timezone.make_aware(datetime.combine(timezone.localdate(), time(22)))
    monkeypatch.setattr("delivery.services.runs.timezone", SimpleNamespace(now=lambda: tonight))
    phone.locator("#reason-" + str(DeliveryStop.objects.get(prescription=first).pk)).fill("家中无人，电话未接")
    phone.locator("button[value=failed]").click()
    phone.wait_for_selector(".message")

    assert phone.locator(".stop-name").inner_text() == second.patient.name, "the page moves on to the next stop"
    phone.locator("a[rel=prev]").click()
    retry = timezone.localtime(DeliveryStop.objects.get(prescription=first).expected_at)
    assert retry == tonight + timedelta(hours=10, minutes=30), "tomorrow 08:30, not 02:00"
    assert f"改约时间 {retry:%m-%d} 08:30" in phone.locator("[data-retry]").inner_text()
    assert waiting.display_number in phone.locator(".pick-list").inner_text()
