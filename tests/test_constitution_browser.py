"""A patient fills in the constitution questionnaire on a phone from the clinic's QR link: consent
first, then the questions, then their type with advice; a question left out is marked, and the
page never scrolls sideways."""

import pytest
from django.core.cache import cache

from constitution import questionnaire
from constitution.models import ConstitutionAssessment
from constitution.services import invite_create

from .browsers import site_only
from .factories import PatientFactory

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone(browser):
    cache.clear()
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True)
    with site_only(context, "the constitution questionnaire") as page:
        yield page
    cache.clear()


def test_a_patient_on_a_phone_consents_answers_and_sees_their_type(live_server, clinician, county, phone):
    patient = PatientFactory(name="赵春兰", sex="F", institution=county["T001"])
    token = invite_create(actor=clinician, patient=patient).token

    phone.goto(f"{live_server.url}/c/{token}/")
    assert phone.locator("#consent").is_visible() and "赵春兰" not in phone.content()
    phone.locator("#agree").check()
    phone.locator("#start").click()

    yang = {"C1", "C2", "C3", "C4", "B5", "C6", "C7"}
    ids = questionnaire.item_ids_for("F")
    assert phone.locator("fieldset.item").count() == len(ids) == 60
    tap = phone.locator(f'label:has(input[name="{ids[0]}"])').first.bounding_box()
    assert tap is not None and tap["height"] >= 44, "each answer is a large touch target"
    for item in ids:
        if item != "G7":  # one left out first
            phone.locator(f'input[name="{item}"][value="{5 if item in yang else 1}"]').check()
    phone.locator("#submit").click()

    assert phone.locator("#answers-error").is_visible()
    assert phone.locator("#item-G7.invalid").is_visible()
    assert not ConstitutionAssessment.objects.exists()
    assert phone.locator('input[name="C1"][value="5"]').is_checked()  # the answers are kept
    phone.locator('input[name="G7"][value="1"]').check()
    phone.locator("#submit").click()

    assert phone.locator("#summary").inner_text().strip() == "是阳虚质"
    assert phone.locator("#advice-yang_deficiency").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert ConstitutionAssessment.objects.get().result["primary"] == ["yang_deficiency"]
