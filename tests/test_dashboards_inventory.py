"""The inventory dashboard against stock and dispensing counted by hand: live stock per herb and
pharmacy, batches expiring within 30/60/90 days (and expired ones still in stock), the 30-day
consumption rate from the rollup and the days of cover it gives, herbs running low below
TCM_STOCK_COVER_DAYS_MIN; scope per administrator (a centre has no pharmacy), CSV, bad filters and
a query count that does not grow with the stock."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import InstitutionKind
from accounts.roles import Role
from catalogue.models import Herb
from catalogue.services import stock_receive
from decoction.services import record_dispensed

from .dashboard_history import local, page, refreshed, table
from .factories import InstitutionFactory, UserFactory
from .test_dashboards_stages import queries
from .test_stations_api import noise_jpeg

pytestmark = pytest.mark.usefixtures("fresh_cache")

PLAIN = [("党参", 10), ("白术", 10)]  # 7 doses: 70 g of each


def day(offset: int):
    return timezone.localdate() + timedelta(days=offset)


def receive(pharmacy, actor, herb, batch_no, expires_in, grams):
    stock_receive(
        pharmacy=pharmacy,
        herb=Herb.objects.get(name=herb),
        batch_no=batch_no,
        expiry_date=day(expires_in),
        quantity_g=Decimal(grams),
        actor=actor,
    )


def dispense(history, people, *, days_ago: int, herbs=PLAIN):
    """A prescription written, approved and dispensed (weighed as prescribed, stock taken) at
    9:00 `days_ago` days before today."""
    at = local(*day(-days_ago).timetuple()[:3], 9)
    prescription = history.walk(
        history.write(people["clinician"], at=at, herbs=herbs), {"ai_audited": 1, "approved": 20}
    )
    with time_machine.travel(at + timedelta(minutes=50), tick=False):
        record_dispensed(
            actor=people["dispenser"],
            prescription=prescription,
            data={"weights": [{"grams": str(grams * 7)} for _herb, grams in herbs]},
            files={"photo": SimpleUploadedFile("herbs.jpg", noise_jpeg(), content_type="image/jpeg")},
        )


@pytest.fixture
def stocked(history, people, county, settings, tmp_path):
    """At P001: 党参 100 g (expiring in 20 days) and 900 g (in 400); 白术 250 g (in 45); 当归
    300 g (in 25); 甘草 2000 g (in 80); 黄芪 50 g expired 5 days ago. At P002, a second pharmacy:
    茯苓 500 g (in 10). Dispensed at P001: 70 g of 党参 40 days ago, then 党参 and 白术 (70 g each)
    3, 10 and 20 days ago. Left: 党参 720 g (the early batch emptied first), 白术 40 g."""
    settings.MEDIA_ROOT = tmp_path
    p001 = county["P001"]
    p002 = InstitutionFactory(
        code="P002", name="第二中药房", kind=InstitutionKind.SHARED_PHARMACY, parent=county["H001"]
    )
    keeper = UserFactory(username="keeper2", institution=p002, roles=[Role.DISPENSER])
    receive(p001, people["dispenser"], "党参", "DS-1", 20, 100)
    receive(p001, people["dispenser"], "党参", "DS-2", 400, 900)
    receive(p001, people["dispenser"], "白术", "BZ-1", 45, 250)
    receive(p001, people["dispenser"], "当归", "DG-1", 25, 300)
    receive(p001, people["dispenser"], "甘草", "GC-1", 80, 2000)
    receive(p001, people["dispenser"], "黄芪", "HQ-1", -5, 50)
    receive(p002, keeper, "茯苓", "FL-1", 10, 500)
    dispense(history, people, days_ago=40, herbs=[("党参", 10)])
    for days_ago in (20, 10, 3):
        dispense(history, people, days_ago=days_ago)
    refreshed()
    return {"P001": p001, "P002": p002}


def by_herb(rows) -> dict:
    return {row["herb"]: row for row in rows}


def test_the_county_sees_stock_rate_and_days_of_cover_per_herb_and_pharmacy(client, people, stocked):
    response = page(client, people["county_admin"], "inventory")

    assert response.status_code == 200
    cover = {
        (row["pharmacy"], row["herb"]): (row["stock_g"], row["consumed_g"], row["rate_g"], row["cover_days"])
        for row in table(response, "cover")
    }
    D = Decimal
    assert cover == {
        ("共享中药房", "党参"): (D("720.00"), D("210.00"), D("7.00"), D("102.9")),  # 720 / 7
        ("共享中药房", "白术"): (D("40.00"), D("210.00"), D("7.00"), D("5.7")),  # 40 / 7
        ("共享中药房", "当归"): (D("300.00"), D("0.00"), D("0.00"), None),
        ("共享中药房", "甘草"): (D("2000.00"), D("0.00"), D("0.00"), None),
        ("共享中药房", "黄芪"): (D("0.00"), D("0.00"), D("0.00"), None),  # expired: no usable stock
        ("第二中药房", "茯苓"): (D("500.00"), D("0.00"), D("0.00"), None),
    }
    assert [row["herb"] for row in table(response, "cover")][:2] == ["白术", "党参"]  # the fewest days first


def test_a_herb_is_low_below_the_minimum_days_of_cover_from_the_setting(client, people, stocked, settings):
    assert [row["herb"] for row in table(page(client, people["county_admin"], "inventory"), "low")] == ["白术"]

    settings.TCM_STOCK_COVER_DAYS_MIN = 200
    assert [row["herb"] for row in table(page(client, people["county_admin"], "inventory"), "low")] == ["白术", "党参"]


def test_batches_expiring_within_30_60_and_90_days_and_expired_ones_still_in_stock(client, people, stocked):
    response = page(client, people["county_admin"], "inventory")

    expiring = [
        (row["herb"], row["batch_no"], row["days_left"], str(row["window"])) for row in table(response, "expiring")
    ]
    # DS-1 (20 days) is empty and DS-2 (400 days) far off: neither is listed.
    assert expiring == [
        ("黄芪", "HQ-1", -5, "已过期"),
        ("茯苓", "FL-1", 10, "30天内到期"),
        ("当归", "DG-1", 25, "30天内到期"),
        ("白术", "BZ-1", 45, "60天内到期"),
        ("甘草", "GC-1", 80, "90天内到期"),
    ]
    # low, within 30 / 60 / 90 days (each counting the nearer ones too), expired
    assert [value for _label, value in response.context["figures"].tiles] == [1, 2, 3, 4, 1]


def test_the_rate_is_taken_over_the_30_days_to_the_ranges_end(client, people, stocked):
    """Ending 35 days ago, the window holds only the 70 g of 党参 dispensed 40 days ago."""
    end = day(-35)
    response = page(client, people["county_admin"], "inventory", start=(end - timedelta(days=60)).isoformat(), end=end)

    rows = by_herb(table(response, "cover"))
    assert (rows["党参"]["consumed_g"], rows["党参"]["rate_g"], rows["党参"]["cover_days"]) == (
        Decimal("70.00"),
        Decimal("2.33"),
        Decimal("308.6"),  # 720 g / (70 g / 30 days): stock is today's whatever the range
    )
    assert rows["白术"]["cover_days"] is None


def test_choosing_a_pharmacy_shows_only_its_stock(client, people, stocked):
    response = page(client, people["county_admin"], "inventory", institution=stocked["P002"].pk)

    assert [(row["pharmacy"], row["herb"]) for row in table(response, "cover")] == [("第二中药房", "茯苓")]
    assert [row["batch_no"] for row in table(response, "expiring")] == ["FL-1"]


def test_a_centre_administrator_without_a_pharmacy_gets_an_empty_page_that_says_so(client, people, stocked):
    response = page(client, people["centre_admin"], "inventory")

    assert response.status_code == 200
    assert 'id="no-pharmacy"' in response.content.decode()
    assert 'class="csv"' not in response.content.decode() and 'class="figures"' not in response.content.decode()
    assert all(not t.rows for t in response.context["figures"].tables)
    assert response.context["figures"].charts == []
    csv_response = page(client, people["centre_admin"], "inventory", format="csv", table="expiring")
    assert csv_response.status_code == 200 and len(csv_response.content.decode("utf-8-sig").splitlines()) == 1


def test_the_inventory_page_is_for_administrators_only(client, people, stocked):
    assert page(client, people["clinician"], "inventory").status_code == 403
    assert page(client, people["dispenser"], "inventory").status_code == 403


def test_the_tables_download_as_csv(client, people, stocked):
    response = page(client, people["county_admin"], "inventory", format="csv", table="low")

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [rows[0], ["共享中药房", "白术", "40.00", "210.00", "7.00", "5.7"]]


@pytest.mark.parametrize(
    "bad", [{"end": "2026-02-30"}, {"institution": "x"}, {"start": "2026-03-02", "end": "2026-03-01"}]
)
def test_bad_filters_answer_400(client, people, bad):
    assert page(client, people["county_admin"], "inventory", **bad).status_code == 400


def test_the_page_reads_as_many_queries_with_more_stock_and_dispensing(client, people, stocked, history):
    before = queries(client, people["county_admin"], "inventory")
    for n, herb in enumerate(("川芎", "白芍", "熟地黄", "茯苓")):
        receive(stocked["P001"], people["dispenser"], herb, f"X-{n}", 30 + 20 * n, 400)
    dispense(history, people, days_ago=5, herbs=[("川芎", 10), ("白芍", 10)])
    refreshed()

    assert queries(client, people["county_admin"], "inventory") == before
