"""The prescription editor's accessibility (issue 25) in a real browser at a desktop's 1366×768:
axe finds no WCAG 2.1 A/AA violation on load, with either suggestion list open or after a failed
submit; and a clinician writes, corrects and submits a prescription with the keyboard alone."""

import pytest

from prescriptions.models import Prescription

from .axe import violations
from .factories import PatientFactory
from .test_clinician_day import write_prescription

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def patient(county):
    return PatientFactory(institution=county["T001"], name="无障碍患者", address="白塔乡东村5号")


@pytest.fixture
def editor(live_server, clinician, catalogue, patient, desktop):
    """The editor for the patient, signed in with the keyboard; the focus starts at the first
    required field (the TCM disease), at the top of the form."""
    page, url = desktop, live_server.url
    page.goto(f"{url}/login/")
    page.locator("#id_username").focus()
    page.keyboard.type("clinician")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/prescriptions/new/?patient={patient.pk}")
    page.wait_for_selector(".herb-row")
    assert active(page) == "disease", "the focus starts at the first required field"
    return page


def active(page, expression="el.id"):
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")


def tab_to(page, test, limit=80):
    """Press Tab until the focused element passes `test` (a JS expression over `el`)."""
    for _ in range(limit):
        if active(page, test):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {test}; at {active(page, 'el.outerHTML')}")


def assert_clean(page):
    found = violations(page)
    assert not found, "\n".join(found)


def unlabelled_or_small(page):
    """Visible fields without a visible label, and visible buttons under 44 px tall."""
    return page.evaluate(
        """() => {
            const shown = (el) => el && el.getClientRects().length && getComputedStyle(el).visibility !== "hidden";
            const problems = [];
            const fields = "#editor input:not([type=hidden]), #editor select, #editor textarea";
            document.querySelectorAll(fields).forEach((field) => {
                if (!shown(field)) return;
                const by = (field.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean);
                const labels = [...field.labels, ...by.map((id) => document.getElementById(id))];
                const visible = labels.some((label) => shown(label) && label.textContent.trim());
                if (!visible) problems.push("no label: " + field.outerHTML);
            });
            document.querySelectorAll("#editor button").forEach((button) => {
                const short = button.getBoundingClientRect().height < 44;
                if (shown(button) && short) problems.push("short: " + button.outerHTML);
            });
            return problems;
        }"""
    )


def combobox_state(page, selector):
    """The combobox's ARIA state: expanded, the listbox it controls, the highlighted option."""
    return page.evaluate(
        """(selector) => {
            const input = document.querySelector(selector);
            const list = document.getElementById(input.getAttribute("aria-controls"));
            const activeId = input.getAttribute("aria-activedescendant");
            const option = activeId && document.getElementById(activeId);
            return {
                role: input.getAttribute("role"),
                autocomplete: input.getAttribute("aria-autocomplete"),
                expanded: input.getAttribute("aria-expanded"),
                listRole: list && list.getAttribute("role"),
                listName: list && list.getAttribute("aria-label"),
                listHidden: list && list.hidden,
                option: option ? option.textContent : null,
                optionRole: option && option.getAttribute("role"),
                selected: list ? Array.from(list.querySelectorAll("[aria-selected=true]")).map((o) => o.id) : [],
                outline: option ? getComputedStyle(option).outlineStyle : null,
            };
        }""",
        selector,
    )


def test_axe_finds_no_violation_on_load_with_either_list_open_with_a_finding_and_after_a_failed_submit(editor):
    page = editor
    assert_clean(page)
    assert unlabelled_or_small(page) == []

    herb = page.locator(".herb-row .herb").first
    herb.focus()
    page.keyboard.type("gc")
    page.wait_for_selector(".herb-row .suggestions:not([hidden]) [role=option]")
    state = combobox_state(page, ".herb-row .herb")
    assert state["role"] == "combobox" and state["autocomplete"] == "list" and state["expanded"] == "true"
    assert state["listRole"] == "listbox" and state["listName"] and state["optionRole"] == "option"
    assert_clean(page)
    page.keyboard.press("Escape")
    assert combobox_state(page, ".herb-row .herb")["expanded"] == "false"

    page.locator("#formula-search").focus()
    page.keyboard.type("桂枝汤")
    page.wait_for_selector("#formula-suggestions:not([hidden]) [role=option]")
    state = combobox_state(page, "#formula-search")
    assert state["expanded"] == "true" and "桂枝汤" in state["option"] and state["listName"]
    assert_clean(page)
    page.keyboard.press("Escape")

    # 甘草 with 甘遂 (十八反): a block finding with its reason field and pharmacopoeia buttons.
    page.locator(".herb-row .herb").first.focus()
    page.keyboard.press("Control+A")  # over the "gc" typed above
    for query, grams in [("gc", "6"), ("gansui", "1")]:
        page.keyboard.type(query)
        page.wait_for_selector(".herb-row .suggestions:not([hidden]) [role=option]")
        page.keyboard.press("Enter")
        page.keyboard.type(grams)
        page.keyboard.press("Enter")
    page.wait_for_selector('#findings .finding[data-code="incompatibility.eighteen"] .signature-reason')
    assert_clean(page)
    assert unlabelled_or_small(page) == []

    page.locator("#submit").click()
    page.wait_for_selector("#error-summary:not([hidden]) a")
    assert active(page) == "error-summary"
    assert page.locator("#error-summary li").all_inner_texts() == ["密码：该字段不能为空。"]
    assert page.locator("#sign-password").get_attribute("aria-invalid") == "true"
    assert_clean(page)
    assert unlabelled_or_small(page) == []


def test_a_prescription_written_corrected_and_submitted_with_the_keyboard_alone(live_server, patient, editor):
    page = editor

    # Leave the disease empty (the error to come); Tab down to the first herb.
    tab_to(page, "el.classList.contains('herb')")
    page.keyboard.type("gc")
    page.wait_for_selector(".herb-row .suggestions:not([hidden]) [role=option]")
    herb = ".herb-row .herb"
    first = combobox_state(page, herb)
    assert len(first["selected"]) == 1 and first["outline"] != "none", "highlighted, not by colour alone"
    page.keyboard.press("ArrowDown")
    second = combobox_state(page, herb)
    assert second["option"] != first["option"] and len(second["selected"]) == 1
    page.keyboard.press("ArrowUp")
    assert combobox_state(page, herb)["option"] == first["option"]
    page.keyboard.press("Enter")
    assert active(page, "el.classList.contains('grams')")
    assert page.locator(".herb-row .herb").first.input_value() == "甘草"
    page.keyboard.type("6")
    page.keyboard.press("Enter")  # the next row
    page.keyboard.type("fuling")
    page.wait_for_selector(".herb-row:nth-child(2) .suggestions:not([hidden]) [role=option]")
    page.keyboard.press("Enter")
    page.keyboard.type("12")

    tab_to(page, "el.id === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary:not([hidden]) a")
    assert active(page) == "error-summary", "the failed submit lands on the error summary"
    assert page.locator("#error-summary h2").inner_text() == "处方未提交，请更正："
    assert page.locator("#error-summary li").all_inner_texts() == ["中医病名：请填写中医诊断（病名）。"]
    assert_clean(page)  # a second failed-submit state: the disease in error

    page.keyboard.press("Tab")
    assert active(page, "el.tagName") == "A" and active(page, "el.dataset.field") == "disease"
    page.keyboard.press("Enter")
    assert active(page) == "disease", "the summary's link takes the focus to the field"
    disease = page.locator("#disease")
    assert disease.get_attribute("aria-invalid") == "true"
    message = page.locator("#" + disease.get_attribute("aria-describedby"))
    assert message.inner_text() == "请填写中医诊断（病名）。"

    page.keyboard.type("感冒")
    assert disease.get_attribute("aria-invalid") is None, "the error goes once the field is fixed"
    assert message.inner_text() == ""
    assert page.locator("#error-summary").is_hidden()

    tab_to(page, "el.id === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/prescriptions/*/", timeout=10_000)
    prescription = Prescription.objects.get(patient=patient)
    assert [(i.herb.name, int(i.grams)) for i in prescription.items.all()] == [("甘草", 6), ("茯苓", 12)]
    assert prescription.consult.tcm_disease == "感冒"


def test_axe_finds_no_violation_choosing_the_patient_nor_with_the_patients_history(
    live_server,
    clinician,
    patient,
    enqueued,
    editor,
):
    """The editor's two other states: the patient choice before it, the history card beside it."""
    page = editor
    write_prescription(clinician, patient, items=[{"herb": "甘草", "grams": "6"}])
    page.goto(f"{live_server.url}/prescriptions/new/")
    assert active(page) == "patient-q"
    assert_clean(page)

    page.goto(f"{live_server.url}/prescriptions/new/?patient={patient.pk}")
    page.wait_for_selector("#history .copy-previous")
    assert active(page) == "disease"
    assert_clean(page)
    assert unlabelled_or_small(page) == []
