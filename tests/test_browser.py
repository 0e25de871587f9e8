"""Browser tests: Playwright driving Debian's Chromium (installed by `make browser-deps`; the
fixtures are in tests/browsers.py)."""

import pytest


@pytest.mark.browser
def test_clinician_logs_in_and_sees_their_home_page_in_chinese(live_server, clinician, page):
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == "登录"

    page.fill("#id_username", "clinician")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "首页"
    nav = page.locator("nav.nav").inner_text()
    assert "患者" in nav and "饮片目录" in nav
    assert "库存" not in nav, "a clinician has no stock page"
    assert "医师" in page.locator(".lead").inner_text()
