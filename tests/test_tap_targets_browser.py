"""Tap targets on the phone and tablet pages (issue 25, WCAG 2.5.5 and 2.5.8): every visible control on
the courier's run, the patient's tracking page and the pickup page (a phone, 390×844) and on each
station with a prescription scanned and the station index (a tablet, 1024×768) is at least 44×44 px,
inputs and buttons are at least 48 px high, no two controls overlap, and opposite actions (已送达 /
未送达, 复核通过 / 退回调剂) stand at least 8 px apart.

The one exception, as WCAG 2.5.5 and 2.5.8 make it, is a link inside a sentence: an `<a>` with text
inside a `<p>` that has other text besides it. Nothing else is left out."""

import pytest

from accounts.roles import Role
from delivery.services import record_shipped, run_create
from prescriptions.workflow import DeliveryMode, Stage

from .factories import UserFactory
from .test_station_courier_day_browser import log_in, scan
from .test_tracking import prescription_at

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("enqueued")]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}
TAP, FIELD = 44, 48  # px: any control; an input's or a button's height
APART = 8  # px between opposite actions

# Every visible interactive element with its box. `inline` marks the WCAG exception: a link with text
# inside a paragraph that has more text than the link (a link in running text).
TARGETS = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]'))
  .filter((e) => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
                   return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; })
  .map((e) => { const r = e.getBoundingClientRect(), p = e.closest('p'), text = e.innerText.trim();
    return {control: e.outerHTML.slice(0, 100), tag: e.tagName.toLowerCase(),
            x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height,
            inline: e.tagName === 'A' && !!p && !!text && !e.querySelector('img')
                    && p.innerText.replace(text, '').trim().length > 0}; })"""


def small_targets(page) -> list[str]:
    """What is too small on the page, one line each; [] when every target is large enough."""
    found = []
    targets = page.evaluate(TARGETS)
    for t in targets:
        if t["inline"]:
            continue  # the WCAG exception: a link inside a sentence
        high = FIELD if t["tag"] in ("input", "button", "select", "textarea") else TAP
        if t["width"] < TAP or t["height"] < high:
            found.append(f"{page.url}: {t['width']:.0f}×{t['height']:.0f} {t['control']}")
    measured = [t for t in targets if not t["inline"]]
    for i, a in enumerate(measured):
        for b in measured[i + 1 :]:
            if gap(a, b) < 0:
                found.append(f"{page.url}: overlap {a['control']} / {b['control']}")
    return found


def gap(a, b) -> float:
    """The space between two boxes (negative when they overlap)."""
    return max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]), b["y"] - (a["y"] + a["height"]),
               a["y"] - (b["y"] + b["height"]))  # fmt: skip


def apart(page, first: str, second: str) -> float:
    return gap(page.locator(first).bounding_box(), page.locator(second).bounding_box())


@pytest.fixture
def device(browser):
    contexts = []

    def open_page(kind):
        contexts.append(browser.new_context(**kind))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_on_the_phone_pages_every_control_is_a_thumb_sized_target_and_delivered_stands_apart_from_not_delivered(
    live_server, county, clinician, courier, dispenser, catalogue, device
):
    first, second, _waiting = (prescription_at(clinician, Stage.PACKAGED) for _ in range(3))
    run_create(courier=courier, prescriptions=[first, second], area="白塔乡")
    record_shipped(actor=courier, prescription=first, data={}, files={})
    clinician.institution.phone = "0571-6000 3001"
    clinician.institution.save()
    small = []

    phone = device(PHONE)
    log_in(phone, live_server.url, "courier")
    phone.goto(f"{live_server.url}/delivery/")
    small += small_targets(phone)
    assert apart(phone, "button[value=delivered]", "button[value=failed]") >= APART, "已送达 / 未送达"

    phone.goto(f"{live_server.url}/t/{first.tracking_token}/")
    small += small_targets(phone)

    phone = device(PHONE)
    log_in(phone, live_server.url, "dispenser")
    phone.goto(f"{live_server.url}/delivery/pickup/")
    small += small_targets(phone)

    assert small == [], "\n".join(small)


def test_on_the_tablet_every_station_with_a_prescription_scanned_and_the_index_are_thumb_sized(
    live_server, county, clinician, dispenser, decoctor, catalogue, device
):
    UserFactory(username="pharmacist2", institution=county["P001"], roles=[Role.PHARMACIST])
    stations = [  # who works there, the station, the stage its prescription waits at
        ("dispenser", "dispensing", Stage.APPROVED),
        ("pharmacist2", "recheck", Stage.DISPENSED),
        ("decoctor", "soaking", Stage.RECHECKED),
        ("decoctor", "decocting", Stage.SOAKING),
        ("decoctor", "packaging", Stage.DECOCTING),
    ]
    waiting = {code: prescription_at(clinician, stage, delivery=DeliveryMode.PICKUP) for _, code, stage in stations}
    small, who = [], None
    for username, code, _stage in stations:
        if username != who:
            tablet, who = device(TABLET), username
            log_in(tablet, live_server.url, username)
            tablet.goto(f"{live_server.url}/stations/")
            small += small_targets(tablet)
        scan(tablet, f"{live_server.url}/stations/{code}/", waiting[code].display_number)
        small += small_targets(tablet)
        if code == "recheck":
            passed, failed = "button[value=rechecked]", "button[value=recheck_failed]"
            assert apart(tablet, passed, failed) >= APART, "复核通过 / 退回调剂"

    assert small == [], "\n".join(small)
