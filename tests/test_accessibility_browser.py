"""Issue 25: every page each persona opens passes axe-core's WCAG 2.1 A/AA rules, at the size of
the device the persona works on, every shown form field has a shown label (axe takes a placeholder
or an aria-label for a name), and every page has one h1 and a title of its own.

The pages are those of the access matrix that answer 200 with HTML, plus the object pages (a
patient, a prescription, its audit, each station with a scanned bag, the labels), each with a real
object, and lists that hold something (a courier's open run, a pickup, an inspection). The Django
admin, the JSON API and its Swagger UI page are left out; the editor and the tracking page are
walked by their own tests (tests/test_editor_*browser.py, tests/test_tracking_browser.py)."""

import re
import types
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from audit.models import ReviewRound, ReviewSample
from audit.services import audit_run
from decoction.models import Inspection
from decoction.selectors import STATIONS
from delivery.services import run_create
from prescriptions.models import Prescription
from prescriptions.workflow import DeliveryMode, Stage
from teleconsult.services import remote_consult_request

from .axe import inputs_without_visible_label, violations
from .test_access_matrix import (
    ANONYMOUS,
    MATRIX,
    PAGE,
    PERSONA_ROLES,
    PERSONAS,
    as_user,
    personas,  # noqa: F401 - the named personas by name
)
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
DEVICE = {
    "clinician": DESKTOP,
    "outsider": DESKTOP,
    "pharmacist": DESKTOP,
    "county_admin": DESKTOP,
    "centre_admin": DESKTOP,
    "dispenser": TABLET,
    "decoctor": TABLET,
    "courier": PHONE,
    ANONYMOUS: PHONE,
}
# Left out of this walk: the editor is walked by its own test of issue 25; /api/docs/ (Swagger UI,
# drawn by its script after the schema loads) by test_the_api_docs_page_passes_wcag_21_aa below.
ELSEWHERE = ("prescriptions:new", "api-docs")
# Each station and the stage a bag waits at to be scanned there.
WAITING_AT = {
    "dispensing": Stage.APPROVED,
    "recheck": Stage.DISPENSED,
    "soaking": Stage.RECHECKED,
    "decocting": Stage.SOAKING,
    "packaging": Stage.DECOCTING,
}


@pytest.fixture
def world(personas, catalogue):  # noqa: F811
    """One prescription of T001 waiting for its audit, one waiting at each station, one packaged
    (the courier's waiting list and the labels): the objects behind the pages with an id."""
    clinician = personas["clinician"]
    submitted = prescription_at(clinician, Stage.SUBMITTED)
    audit_run(prescription_id=submitted.pk)
    waiting = {code: prescription_at(clinician, stage) for code, stage in WAITING_AT.items()}
    packaged = prescription_at(clinician, Stage.PACKAGED)
    on_the_road = prescription_at(clinician, Stage.PACKAGED)  # the courier's open run, with its stop forms
    run_create(courier=personas["courier"], prescriptions=Prescription.objects.filter(pk=on_the_road.pk), area="白塔乡")
    prescription_at(clinician, Stage.PACKAGED, delivery=DeliveryMode.PICKUP)  # waits to be handed over
    Inspection.objects.create(prescription=packaged, picked_on=packaged.created_at.date())
    review = ReviewRound.objects.create(month=date(2026, 1, 1), seed=202601, per_clinician=5, approved=1)
    sample = ReviewSample.objects.create(  # the pharmacist's post-hoc review of an approved one
        round=review,
        prescription=waiting["dispensing"],
        institution=clinician.institution,
        prescriber=clinician,
        routed_to=personas["pharmacist"].institution,
    )
    consult, _ = remote_consult_request(  # the clinician of T001 asks the county hospital
        actor=clinician,
        patient_id=submitted.patient_id,
        values={"chief_complaint": "胃脘胀痛2月", "pulse": "弦细", "temperature_c": Decimal("36.8")},
    )
    return types.SimpleNamespace(
        submitted=submitted, waiting=waiting, packaged=packaged, sample=sample, consult=consult, users=personas
    )


def candidate_urls(world) -> list[str]:
    plain = [
        reverse(name)
        for name, row in MATRIX.items()
        if row.kind == PAGE and row.method == "get" and row.ok == "200" and name not in ELSEWHERE
    ]
    p = world.submitted
    objects = [
        reverse("patients:edit", args=[p.patient.pk]),
        reverse("patients:portrait", args=[p.patient.pk]),
        reverse("prescriptions:detail", args=[p.pk]),
        reverse("audit:detail", args=[p.pk]),
        *(f"{reverse('stations:station', args=[code])}?code={world.waiting[code].display_number}" for code in STATIONS),
        reverse("stations:labels", args=[world.packaged.pk]),
        reverse("audit:review-detail", args=[world.sample.pk]),
        reverse("teleconsult:detail", args=[world.consult.pk]),
        f"{reverse('teleconsult:new')}?patient={p.patient.pk}",
    ]
    return [*plain, *objects]


def device(browser, live_server, viewport, signed_in_client=None):
    """A browser context at the device's size (touch unless a desktop), sharing the session of
    `signed_in_client` if given: one sign-in per persona, no login form per page."""
    context = browser.new_context(viewport=viewport, has_touch=viewport is not DESKTOP, locale="zh-CN")
    if signed_in_client is not None:
        host = live_server.url.split("//")[1].split(":")[0]
        session = signed_in_client.cookies["sessionid"].value
        context.add_cookies([{"name": "sessionid", "value": session, "domain": host, "path": "/"}])
    return context


def pages_of(client, world, who) -> list[str]:
    """The candidate URLs that answer `who` with a 200 HTML page."""
    if who == ANONYMOUS:
        return [reverse("login")]
    as_user(client, world.users[who])
    pages = []
    for url in candidate_urls(world):
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages.append(url)
    return pages


@pytest.mark.browser
@pytest.mark.parametrize("who", [*PERSONAS, ANONYMOUS])
def test_every_page_a_persona_opens_passes_wcag_21_aa_at_the_personas_device_size(
    who,
    client,
    world,
    live_server,
    browser,
):
    pages = pages_of(client, world, who)
    assert pages, who
    context = device(browser, live_server, DEVICE[who], client if who != ANONYMOUS else None)
    page = context.new_page()
    found = []
    try:
        for url in pages:
            page.goto(live_server.url + url)
            assert urlsplit_path(page.url) == url.split("?")[0], f"{who} was sent away from {url}"
            found += violations(page) + inputs_without_visible_label(page)
    finally:
        context.close()
    assert found == [], f"{who}: {len(found)} violations on {len(pages)} pages\n" + "\n".join(found)


def urlsplit_path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


class Outline(HTMLParser):
    """The <title> text and the number of h1 elements of a page."""

    def __init__(self):
        super().__init__()
        self.title, self.h1s, self._in_title = "", 0, False

    def handle_starttag(self, tag, attrs):
        self.h1s += tag == "h1"
        self._in_title = self._in_title or tag == "title"

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def test_every_page_has_one_h1_and_a_title_of_its_own(client, world):
    """No two pages a persona opens share a title, and the home pages of different roles differ."""
    wrong, homes = [], {}
    for who in [*PERSONAS, ANONYMOUS]:
        as_user(client, world.users.get(who))
        titles = {}
        for url in pages_of(client, world, who):
            outline = Outline()
            outline.feed(client.get(url).content.decode())
            title = " ".join(outline.title.split())
            if outline.h1s != 1:
                wrong.append(f"{who} {url}: {outline.h1s} h1")
            if title in titles:
                wrong.append(f"{who} {url}: the title {title!r} of {titles[title]}")
            titles[title] = url
            if url == "/":
                homes.setdefault(title, set()).add(frozenset(PERSONA_ROLES[who]))
    assert wrong == [], "\n".join(wrong)
    assert {title: roles for title, roles in homes.items() if len(roles) > 1} == {}, "roles share a home title"


@pytest.mark.browser
def test_refusals_missing_pages_and_forms_showing_their_errors_pass_wcag_21_aa(client, world, live_server, browser):
    """Pages people meet that the clean walk never shows: a failed sign-in on a phone; on a
    clinician's desktop a patient registration sent empty, a page their role is refused (403) and
    a patient that does not exist (404); on a pharmacist's, a review score refused at its field."""
    found = []
    context = device(browser, live_server, PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "clinician")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".errors")
    found += violations(page) + inputs_without_visible_label(page)
    context.close()

    context = device(browser, live_server, DESKTOP, as_user(client, world.users["clinician"]))
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/new/")
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".has-error")
    found += violations(page) + inputs_without_visible_label(page)
    for url, status in (("/audit/", 403), (f"/patients/{world.submitted.patient.pk + 1000}/", 404)):
        assert page.goto(live_server.url + url).status == status, url
        assert page.locator("h1").count() == 1, url
        found += violations(page)
    context.close()

    context = device(browser, live_server, DESKTOP, as_user(client, world.users["pharmacist"]))
    page = context.new_page()  # a review score sent without its reasons
    page.goto(f"{live_server.url}/audit/review/{world.sample.pk}/")
    page.check("input[name=verdict][value=nonstandard]")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#reasons-error")
    found += violations(page) + inputs_without_visible_label(page)
    context.close()
    assert found == [], "\n".join(found)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_api_docs_page_passes_wcag_21_aa(live_server, browser, client, clinician, viewport):
    """The HIS developers' page: Swagger UI, with our stylesheet for contrast, a language, and no
    deep-link anchors nested in the operations' buttons; checked once every operation is drawn
    (the schema it draws is for signed-in users)."""
    client.force_login(clinician)
    context = device(browser, live_server, viewport, client)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock-summary-method", timeout=20_000)
        found = violations(page)
    finally:
        context.close()
    assert found == [], "\n".join(found)
