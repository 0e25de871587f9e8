"""Every dashboard in a real browser, as the county's and as a central centre's administrator:
the charts draw (SVG from the project's own ECharts), nothing is logged to the console as an
error, and the table behind the first chart downloads as CSV."""

from pathlib import Path

import pytest
from django.test import Client

from dashboards.pages import DASHBOARDS
from dashboards.rollups import refresh
from prescriptions.workflow import Decoction, DeliveryMode

from .dashboard_history import HIGH, local

pytestmark = pytest.mark.usefixtures("fresh_cache")

WHOLE_WAY = {"ai_audited": 1, "approved": 20, "dispensed": 50, "rechecked": 70, "soaking": 80}
WHOLE_WAY |= {"decocting": 110, "packaged": 170, "picked_up": 200}


@pytest.fixture
def spring(history, people):
    """A few prescriptions of both townships in March and April, one through every station."""
    for day in (2, 3, 9, 16):
        history.walk(history.write(people["clinician"], at=local(2026, 3, day, 9)), WHOLE_WAY)
    history.walk(
        history.write(people["clinician"], at=local(2026, 4, 1, 9), herbs=HIGH, doses=3, decoction=Decoction.SELF),
        {"ai_audited": 1, "approved": 25},
    )
    history.walk(
        history.write(people["outsider"], at=local(2026, 4, 2, 9), delivery=DeliveryMode.ADDRESS, urgent=True),
        {"ai_audited": 1, "rejected": 12},
    )
    refresh(full=True)


@pytest.mark.browser
@pytest.mark.parametrize("who", ["county_admin", "centre_admin"])
def test_every_dashboard_draws_its_charts_without_console_errors_and_its_csv_downloads(
    who,
    people,
    spring,
    live_server,
    browser,
):
    client = Client()
    client.force_login(people[who])
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    host = live_server.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}]
    )
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        for name, _title, _own in DASHBOARDS:
            page.goto(f"{live_server.url}/dashboards/{name}/?start=2026-03-01&end=2026-04-30")
            assert page.locator("h1").count() == 1, name
            charts = page.locator(".chart")
            for n in range(charts.count()):
                charts.nth(n).locator("svg").first.wait_for(state="attached", timeout=10_000)
            if page.locator(".csv a").count():
                with page.expect_download() as download:
                    page.locator(".csv a").first.click()
                assert download.value.suggested_filename.endswith(".csv"), name
                assert Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()[0], name
    finally:
        context.close()
    assert errors == []
