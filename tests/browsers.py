"""Playwright fixtures for the browser tests, which drive Debian's Chromium (installed by `make
browser-deps`). One Chromium per test process for the whole session (starting one takes about
a second); each test gets a context of its own, so no cookies or storage carry over."""

from contextlib import contextmanager

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

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


@contextmanager
def site_only(context, what: str = "pages"):
    """A new page of `context` that notes every request leaving the site; on exit the context is
    closed and nothing may have left."""
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
    assert not outside, f"{what} must load nothing from outside the site: {outside}"


@pytest.fixture
def page(browser):
    with site_only(browser.new_context()) as page:
        yield page
