"""The pharmacist's day and the administrator's day in a desktop browser at 1366×768: the audit
queue counted, paged and filtered, each decision opening the next prescription of the same
queue, times in local time, nothing wrapping one character per line; role names, risk levels and
durations in Chinese in the admin, the station limits edited there, prescriptions read-only, and
the county-wide herb list changed only by the county administrator."""

import re

import pytest

from core.timefmt import local_text
from decoction.models import StationSettings
from prescriptions.models import Prescription, StuckFlag

from .test_audit_queue import waiting_at_h001

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("enqueued")]
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def queue(clinician, county, catalogue, monkeypatch):
    """Seven prescriptions waiting at H001 (tests.test_audit_queue.waiting_at_h001), pages of five."""
    monkeypatch.setattr("audit.views.QUEUE_PAGE_SIZE", 5)
    return waiting_at_h001(clinician, county, clean=5)


def sign_in(page, base, username, path="/login/"):
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)


def rows(page) -> list[str]:
    return page.locator("table.queue tbody tr").all_inner_texts()


def wrapped_one_character_per_line(page, selector: str) -> list[str]:
    """The elements matching `selector` whose text box is taller than two lines (a label or a
    name broken into a column of characters)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
            const style = getComputedStyle(el);
            const size = parseFloat(style.fontSize);
            const line = style.lineHeight === "normal" ? size * 1.4 : parseFloat(style.lineHeight);
            const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom)
                + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
            const rect = el.getBoundingClientRect();
            return rect.height > 0 && rect.height - padding > 2.2 * line;
        }).map((el) => el.textContent.trim())""",
        selector,
    )


TEXTS = "button, .button, table.queue td, table.queue th, .nav a, .who span, .risk, .tag"


def filtered(page, base, **params) -> list[str]:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    page.goto(f"{base}/audit/?{query}")
    return rows(page)


def test_the_pharmacists_day_counted_paged_filtered_and_each_decision_opens_the_next(
    live_server,
    pharmacist,
    clinician,
    county,
    queue,
    desktop,
):
    page, base = desktop, live_server.url
    sign_in(page, base, "pharmacist")
    page.goto(f"{base}/audit/")
    assert page.locator("#queue-count").inner_text() == "待审处方：7 张 · 第 1 页，共 2 页"
    first_page = rows(page)
    assert len(first_page) == 5 and "李医生" in first_page[0] and "王医生" in first_page[1]
    assert wrapped_one_character_per_line(page, TEXTS) == []
    page.click("a[rel=next]")
    assert len(rows(page)) == 2 and "第 2 页，共 2 页" in page.locator("#queue-count").inner_text()

    # Filters: the prescribing institution, the clinician, a finding, urgency (the number is column 2).
    assert [r.split("\t")[1].strip() for r in filtered(page, base, institution=county["C001"].pk)] == [
        queue["low"].number
    ]
    assert len(filtered(page, base, prescriber=clinician.pk)) == 5  # the first page of six
    assert [r.split("\t")[1].strip() for r in filtered(page, base, finding="incompatibility.eighteen")] == [
        queue["high"].number
    ]
    assert [r.split("\t")[1].strip() for r in filtered(page, base, urgent=1)] == [queue["clean"][-1].number]
    assert page.locator("select[name=urgent]").input_value() == "1"

    # The high-risk one first: the prescriber's double signature in local time, then approve.
    page.goto(f"{base}/audit/")
    page.locator("table.queue tbody tr").first.locator("button").click()
    page.wait_for_url(f"{base}/audit/{queue['high'].pk}/")
    signed_at = Prescription.objects.get(pk=queue["high"].pk).double_signature["signed_at"]
    shown = page.locator("time").inner_text()
    assert shown == local_text(signed_at) and shown != signed_at[:16].replace("T", " ")
    assert wrapped_one_character_per_line(page, "button, .button, .nav a, .who span, h1 .risk") == []
    page.locator("input[name^='override:']").fill("病情需要，医师已双签")
    page.click("button[value=approve]")
    page.wait_for_url(f"{base}/audit/{queue['low'].pk}/")  # the next in the queue, claimed
    assert "已通过" in page.locator(".message").inner_text()

    # In a filtered queue, the next is the next of the same filter.
    clean = queue["clean"]
    page.goto(f"{base}/audit/?prescriber={clinician.pk}")
    page.locator("table.queue tbody tr").first.locator("button").click()
    page.wait_for_url(f"{base}/audit/{clean[0].pk}/?prescriber={clinician.pk}")
    page.click("button[value=approve]")
    page.wait_for_url(f"{base}/audit/{clean[1].pk}/?prescriber={clinician.pk}")
    assert Prescription.objects.get(pk=clean[0].pk).status == "approved"


def admin_text(page, base, path) -> str:
    page.goto(f"{base}{path}")
    return page.locator("#content").inner_text()


def test_the_administrators_day_in_chinese_station_limits_edited_prescriptions_read_only_herbs_county_wide(
    live_server,
    county_admin,
    centre_admin,
    pharmacist,
    queue,
    catalogue,
    desktop,
):
    page, base = desktop, live_server.url
    StuckFlag.objects.create(
        prescription=queue["low"], stage="ai_audited", since=queue["low"].created_at, limit_minutes=125
    )
    sign_in(page, base, "countyadmin", "/admin/login/")

    users = admin_text(page, base, "/admin/accounts/user/")
    pharmacist_row = page.locator("#result_list tr", has_text="pharmacist").first.inner_text()
    assert "药师" in pharmacist_row and "管理员" in users
    runs = admin_text(page, base, "/admin/audit/auditrun/")
    assert "高" in runs and "低" in runs and "无问题" in runs
    assert not re.search(r"\bhigh\b|\blow\b", runs) and "毫秒" in runs
    assert "2小时5分" in admin_text(page, base, "/admin/prescriptions/stuckflag/")

    # The station limits: one row, changed here.
    page.goto(f"{base}/admin/decoction/stationsettings/")
    page.locator("#result_list tbody a").first.click()
    page.fill("#id_soak_min_minutes", "40")
    page.click("input[name=_save]")
    page.wait_for_url(f"{base}/admin/decoction/stationsettings/")
    assert StationSettings.current().soak_min_minutes == 40

    # Prescriptions: read-only.
    page.goto(f"{base}/admin/prescriptions/prescription/{queue['low'].pk}/change/")
    assert page.locator("input[name=_save]").count() == 0 and page.locator("input[name=usage]").count() == 0
    assert queue["low"].number in page.locator("#content").inner_text()

    # The herb list: the county administrator changes it, the centre administrator only reads it.
    herb = catalogue.get(name="甘草")
    page.goto(f"{base}/admin/catalogue/herb/{herb.pk}/change/")
    assert page.locator("input[name=_save]").count() == 1
    page.context.clear_cookies()
    sign_in(page, base, "centreadmin", "/admin/login/")
    page.goto(f"{base}/admin/catalogue/herb/{herb.pk}/change/")
    assert page.locator("input[name=_save]").count() == 0 and "甘草" in page.locator("#content").inner_text()
    assert page.goto(f"{base}/admin/catalogue/herb/add/").status == 403
