"""Browser tests: Playwright driving Debian's Chromium (installed by `make browser-deps`)."""

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def desktop(browser):
    """A page at a clinic computer's size (1366×768)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield context.new_page()
    context.close()


@pytest.fixture
def tablet(browser):
    """A page at a station tablet's size (1024×768), by touch."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if "127.0.0.1" not in request.url and "localhost" not in request.url else None
        ),
    )
    yield page
    context.close()
    assert not outside, f"pages must load nothing from outside the site: {outside}"


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
