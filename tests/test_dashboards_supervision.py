"""The monthly supervision report against a small history counted by hand: each indicator of the
chosen month beside the month before, per institution too, the stuck count now; the month field
(default: the last complete month; a bad one is a 400 at the field); administrators only, each
in its subtree; a title naming the place and month; the CSV; the same queries for a longer history."""

import csv
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue.models import Herb
from dashboards.rollups import refresh
from prescriptions.services.trace import flag_stuck
from prescriptions.workflow import Decoction, DeliveryMode

from .dashboard_history import HIGH, local, page, table

MARCH = {"month": "2026-03"}
PRICES = {"党参": "0.10", "白术": "0.05", "茯苓": "0.20", "甘草": "0.04", "甘遂": "1.00"}
SELF = {"decoction": Decoction.SELF}


def picked_up(minutes: int) -> dict:
    return {"ai_audited": 1, "approved": 20, "dispensed": 50, "rechecked": 70, "packaged": 90, "picked_up": minutes}


TO_THE_DOOR = {"ai_audited": 1, "approved": 20, "dispensed": 50, "rechecked": 70, "packaged": 90}
TO_THE_DOOR |= {"shipped": 120, "delivered": 600}
REJECTED = {"ai_audited": 1, "rejected": 15}


@pytest.fixture
def month(history, people):
    """February and March 2026 (and one April prescription), prices per gram as in PRICES; the
    pharmacy's decoction fee is 3.00 a dose, delivery 10.00.

    Feb  f1 clinician  党参 10 白术 10 ×7, self, picked up after 3 h               10.50
    Feb  f2 outsider   党参 10 白术 10 ×7, centre, rejected                        31.50
    Mar  m1 clinician  党参 10 白术 10 ×7, self, picked up after 200 min           10.50
    Mar  m2 clinician  党参 10 白术 10 ×7, self, delivered after 10 h             20.50
    Mar  m3 clinician  甘草 6 甘遂 1 ×3 (toxic), self, approved, waits            3.72
    Mar  m4 outsider   党参 10 白术 10 ×7, centre, rejected                        31.50
    Mar  m5 outsider   党参 10 白术 10 茯苓 10 ×7, self, picked up after 30 h       24.50
    Apr  a1 clinician  approved, then dispensed (its stuck flag resolved)
    Stuck now: m3, f2, m4 (a1's flag resolved)."""
    for name, price in PRICES.items():
        Herb.objects.filter(name=name).update(price_per_g=Decimal(price))
    clinician, outsider = people["clinician"], people["outsider"]
    history.walk(history.write(clinician, at=local(2026, 2, 10), **SELF), picked_up(180))
    history.walk(history.write(outsider, at=local(2026, 2, 11)), REJECTED)
    history.walk(history.write(clinician, at=local(2026, 3, 2), **SELF), picked_up(200))
    history.walk(history.write(clinician, at=local(2026, 3, 3), delivery=DeliveryMode.ADDRESS, **SELF), TO_THE_DOOR)
    history.walk(
        history.write(clinician, at=local(2026, 3, 4), herbs=HIGH, doses=3, **SELF), {"ai_audited": 1, "approved": 30}
    )
    history.walk(history.write(outsider, at=local(2026, 3, 5)), REJECTED)
    three = [("党参", 10), ("白术", 10), ("茯苓", 10)]
    history.walk(history.write(outsider, at=local(2026, 3, 6), herbs=three, **SELF), picked_up(1800))
    a1 = history.walk(history.write(clinician, at=local(2026, 4, 2), **SELF), {"ai_audited": 1, "approved": 20})
    flag_stuck(limits={"approved": 60, "rejected": 60})
    history.walk(a1, {"dispensed": 50})
    flag_stuck(limits={"approved": 60, "rejected": 60})
    refresh(full=True)


def indicators(response) -> list[tuple]:
    return [
        (str(r["indicator"]), _plain(r["now"]), _plain(r["was"]), r["change"]) for r in table(response, "indicators")
    ]


def _plain(value):
    return str(value) if value is not None and not isinstance(value, int | float | Decimal) else value


def test_the_county_report_shows_each_indicator_beside_the_month_before(client, people, month):
    response = page(client, people["county_admin"], "supervision", **MARCH)

    assert response.status_code == 200
    assert indicators(response) == [
        ("处方", 5, 2, 3),
        ("审方通过率", 0.8, 0.5, 0.3),
        ("不合理处方率（事后点评）", "尚无点评", "尚无点评", None),
        ("平均每方饮片味数", 2.2, 2.0, 0.2),
        ("平均每方金额（元）", Decimal("18.14"), Decimal("21.00"), Decimal("-2.86")),
        ("含毒性饮片处方占比", 0.2, 0.0, 0.2),
        ("4小时内送达或取药率", 0.333, 1.0, -0.667),
        ("24小时内送达或取药率", 0.667, 1.0, -0.333),
        ("当前滞留处方", 3, None, None),
    ]


def test_the_report_gives_the_months_figures_per_institution(client, people, month):
    response = page(client, people["county_admin"], "supervision", **MARCH)
    keys = ("prescriptions", "pass_rate", "herbs_per_prescription", "cost_per_prescription", "toxic_share")

    assert [
        (r["institution"], *(r[k] for k in keys), r["within_4h"], r["within_24h"])
        for r in table(response, "institutions")
    ] == [
        ("白塔乡卫生院", 3, 1.0, 2.0, Decimal("11.57"), 0.333, 0.5, 1.0),
        ("柳溪乡卫生院", 2, 0.5, 2.5, Decimal("28.00"), 0.0, 0.0, 0.0),
    ]


def test_the_title_names_the_place_and_the_month_and_the_page_prints(client, people, month):
    content = page(client, people["county_admin"], "supervision", **MARCH).content.decode()

    assert "<title>县人民医院中药处方监管月报（2026-03）" in content
    assert "<h1>县人民医院中药处方监管月报（2026-03）</h1>" in content
    assert "data-print" in content and "js/print.js" in content


def test_a_central_centres_administrator_reports_on_its_subtree_only(client, people, month):
    response = page(client, people["centre_admin"], "supervision", **MARCH)
    rows = {name: (now, was) for name, now, was, _change in indicators(response)}

    assert rows["处方"] == (3, 1)
    assert rows["平均每方金额（元）"] == (Decimal("11.57"), Decimal("10.50"))
    assert rows["当前滞留处方"] == (1, None)
    assert [r["institution"] for r in table(response, "institutions")] == ["白塔乡卫生院"]
    assert "<h1>城东中心卫生院中药处方监管月报（2026-03）</h1>" in response.content.decode()


def test_choosing_an_institution_reports_on_its_subtree(client, people, month, county):
    response = page(client, people["county_admin"], "supervision", institution=county["C002"].pk, **MARCH)
    rows = {name: (now, was) for name, now, was, _change in indicators(response)}

    assert (rows["处方"], rows["审方通过率"], rows["当前滞留处方"]) == ((2, 1), (0.5, 0.0), (2, None))
    assert "城西中心卫生院中药处方监管月报（2026-03）" in response.content.decode()


@pytest.mark.parametrize("who", ["clinician", "outsider", "pharmacist"])
def test_only_administrators_may_open_the_report(client, people, month, who):
    assert page(client, people[who], "supervision", **MARCH).status_code == 403


def test_without_a_month_the_report_is_of_the_last_complete_month(client, people, month):
    client.force_login(people["county_admin"])
    with time_machine.travel(local(2026, 4, 15), tick=False):
        response = client.get("/dashboards/supervision/")

    assert response.status_code == 200
    assert indicators(response)[0] == ("处方", 5, 2, 3)
    assert 'value="2026-03"' in response.content.decode()  # the field shows the month reported on


@pytest.mark.parametrize("bad", ["2026-13", "March", "2026-3", "1999-12", "2999-01"])
def test_a_bad_month_is_a_400_with_the_error_at_the_month_field(client, people, month, bad):
    response = page(client, people["county_admin"], "supervision", month=bad)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["month"]
    assert 'id="id_month-error"' in response.content.decode()


def test_the_indicators_download_as_csv(client, people, month):
    response = page(client, people["county_admin"], "supervision", format="csv", table="indicators", **MARCH)

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["指标", "2026-03", "2026-02", "较上月"]
    assert rows[1:4] == [
        ["处方", "5", "2", "3"],
        ["审方通过率", "0.8", "0.5", "0.3"],
        ["不合理处方率（事后点评）", "尚无点评", "尚无点评", ""],
    ]


def test_the_report_reads_the_same_number_of_queries_however_long_the_history(
    client, people, history, month, django_assert_max_num_queries
):
    client.force_login(people["county_admin"])
    with CaptureQueriesContext(connection) as small:
        client.get("/dashboards/supervision/", MARCH)
    for day in range(10, 20):
        who = people["clinician" if day % 2 else "outsider"]
        history.walk(history.write(who, at=local(2026, 2 + day % 2, day), **SELF), picked_up(60 * day))
    refresh(full=True)
    with django_assert_max_num_queries(len(small)) as larger:
        client.get("/dashboards/supervision/", MARCH)

    assert len(larger) == len(small)
