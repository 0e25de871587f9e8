"""The herbs dashboard against a small history counted by hand: the top herbs by prescriptions and
by grams (per dose × doses), their trend per month, the range's last month against the one
before, toxic-herb usage with the herbs of the 1988 list marked; scope per persona; the CSV;
bad filters; the same number of queries for a longer history."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.rollups import refresh

from .dashboard_history import HIGH, local, page, table

SPRING = {"start": "2026-03-01", "end": "2026-04-30"}


@pytest.fixture
def five(history, people):
    """Five prescriptions in March and April 2026, one in February.

    clinician (T001, under C001)                         outsider (T003, under C002)
    03-02 党参 10 g, 白术 10 g × 7 doses                  03-04 党参 10 g, 茯苓 15 g × 7 doses
    03-09 党参 12 g, 苦杏仁 9 g (小毒) × 5 doses
    04-10 甘草 6 g, 甘遂 1 g (有毒, on the list) × 3 doses
    04-12 党参 10 g, 白术 12 g × 10 doses
    02-10 黄芪 30 g × 7 doses (before the range)"""
    clinician, outsider = people["clinician"], people["outsider"]
    history.write(clinician, at=local(2026, 3, 2), herbs=[("党参", 10), ("白术", 10)], doses=7)
    history.write(clinician, at=local(2026, 3, 9), herbs=[("党参", 12), ("苦杏仁", 9)], doses=5)
    history.write(clinician, at=local(2026, 4, 10), herbs=HIGH, doses=3)
    history.write(clinician, at=local(2026, 4, 12), herbs=[("党参", 10), ("白术", 12)], doses=10)
    history.write(clinician, at=local(2026, 2, 10), herbs=[("黄芪", 30)], doses=7)
    history.write(outsider, at=local(2026, 3, 4), herbs=[("党参", 10), ("茯苓", 15)], doses=7)
    refresh(full=True)


def usage(response, name: str) -> list[tuple]:
    return [(r["herb"], r["prescriptions"], r["grams"], r["share"]) for r in table(response, name)]


def g(text: str) -> Decimal:
    return Decimal(text)


def test_the_top_herbs_by_prescriptions_and_by_grams_with_their_share(client, people, five):
    response = page(client, people["county_admin"], "herbs", **SPRING)

    assert response.status_code == 200
    assert usage(response, "by-count") == [
        ("党参", 4, g("300.00"), 0.8),
        ("白术", 2, g("190.00"), 0.4),
        ("茯苓", 1, g("105.00"), 0.2),  # ties go by grams
        ("苦杏仁", 1, g("45.00"), 0.2),
        ("甘草", 1, g("18.00"), 0.2),
        ("甘遂", 1, g("3.00"), 0.2),
    ]
    assert [r[0] for r in usage(response, "by-grams")] == ["党参", "白术", "茯苓", "苦杏仁", "甘草", "甘遂"]


def test_the_top_herbs_are_followed_month_by_month(client, people, five):
    response = page(client, people["county_admin"], "herbs", **SPRING)
    columns = dict(next(t for t in response.context["figures"].tables if t.name == "trend").columns)
    march, april = table(response, "trend")

    assert [columns[f"n{i}"] for i in range(5)] == ["党参", "白术", "茯苓", "苦杏仁", "甘草"]
    assert str(columns["g0"]) == "党参（克）"
    assert [march[f"n{i}"] for i in range(5)] == [3, 1, 1, 1, 0]
    assert [april[f"n{i}"] for i in range(5)] == [1, 1, 0, 0, 1]
    assert (march["g0"], april["g0"], april["g4"]) == (g("200.00"), g("100.00"), g("18.00"))
    assert "2026-03 至 2026-04" in response.content.decode()


def test_month_on_month_compares_the_last_month_of_the_range_with_the_one_before(client, people, five):
    response = page(client, people["county_admin"], "herbs", **SPRING)
    changes = [
        (r["herb"], r["prescriptions"], r["previous"], r["change"], r["grams"], r["previous_grams"], r["change_grams"])
        for r in table(response, "month-on-month")
    ]

    assert changes == [
        ("党参", 1, 3, -2, g("100.00"), g("200.00"), g("-100.00")),
        ("白术", 1, 1, 0, g("120.00"), g("70.00"), g("50.00")),
        ("甘草", 1, 0, 1, g("18.00"), g("0.00"), g("18.00")),
        ("甘遂", 1, 0, 1, g("3.00"), g("0.00"), g("3.00")),
        ("苦杏仁", 0, 1, -1, g("0.00"), g("45.00"), g("-45.00")),
        ("茯苓", 0, 1, -1, g("0.00"), g("105.00"), g("-105.00")),
    ]
    assert "环比：2026-04 对比 2026-03" in response.content.decode()


def test_a_range_ending_in_march_compares_march_with_february(client, people, five):
    response = page(client, people["county_admin"], "herbs", start="2026-03-01", end="2026-03-20")

    assert [(r["herb"], r["prescriptions"], r["previous"]) for r in table(response, "month-on-month")] == [
        ("党参", 3, 0),
        ("白术", 1, 0),
        ("苦杏仁", 1, 0),
        ("茯苓", 1, 0),
        ("黄芪", 0, 1),
    ]


def test_toxic_herbs_are_counted_with_their_grams_share_and_the_toxic_list_marked(client, people, five):
    response = page(client, people["county_admin"], "herbs", **SPRING)
    tiles = {str(label): value for label, value in response.context["figures"].tiles}

    assert [
        (*row, str(r["toxicity"]), str(r["listed"]))
        for row, r in zip(usage(response, "toxic"), table(response, "toxic"), strict=True)
    ] == [
        ("苦杏仁", 1, g("45.00"), 0.2, "小毒", ""),
        ("甘遂", 1, g("3.00"), 0.2, "有毒", "是"),
    ]
    assert (tiles["处方"], tiles["使用最多的饮片"], tiles["含毒性饮片的处方"], tiles["含毒性饮片处方占比"]) == (
        5,
        "党参",
        2,
        0.4,
    )


def test_a_central_centres_administrator_counts_only_its_subtree(client, people, five):
    response = page(client, people["centre_admin"], "herbs", **SPRING)

    assert usage(response, "by-count")[:2] == [("党参", 3, g("230.00"), 0.75), ("白术", 2, g("190.00"), 0.5)]
    assert "茯苓" not in [r[0] for r in usage(response, "by-count")]


def test_a_clinician_sees_only_their_own_herbs_and_cannot_widen_them(client, people, five):
    own = page(client, people["outsider"], "herbs", **SPRING)
    asked_for_another = page(client, people["outsider"], "herbs", clinician=people["clinician"].pk, **SPRING)

    assert own.status_code == 200
    assert usage(own, "by-count") == [("茯苓", 1, g("105.00"), 1.0), ("党参", 1, g("70.00"), 1.0)]
    assert usage(asked_for_another, "by-count") == usage(own, "by-count")


def test_a_courier_may_not_open_the_herbs(client, people, five):
    assert page(client, people["courier"], "herbs").status_code == 403


def test_the_tables_download_as_csv(client, people, five):
    by_grams = page(client, people["county_admin"], "herbs", format="csv", table="by-grams", **SPRING)
    toxic = page(client, people["county_admin"], "herbs", format="csv", table="toxic", **SPRING)

    rows = list(csv.reader(io.StringIO(by_grams.content.decode("utf-8-sig"))))
    assert rows[:3] == [
        ["饮片", "处方", "克数", "处方占比"],
        ["党参", "4", "300.00", "0.8"],
        ["白术", "2", "190.00", "0.4"],
    ]
    rows = list(csv.reader(io.StringIO(toxic.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["毒性", "列入毒性药品管理品种（1988）"]
    assert rows[2] == ["甘遂", "1", "3.00", "0.2", "有毒", "是"]


def test_a_bad_date_is_a_400_with_the_error_at_its_field(client, people, five):
    response = page(client, people["county_admin"], "herbs", end="2026-04-31")

    assert response.status_code == 400 and "end" in response.context["form"].errors


def test_the_page_reads_the_same_number_of_queries_however_long_the_history(
    client, people, history, five, django_assert_max_num_queries
):
    client.force_login(people["county_admin"])
    with CaptureQueriesContext(connection) as small:
        client.get("/dashboards/herbs/", SPRING)
    for n, herb in enumerate(["当归", "黄芪", "茯苓", "白术", "苦杏仁", "吴茱萸"]):
        history.write(people["outsider"], at=local(2026, 3 + n % 2, 12 + n), herbs=[(herb, 5 if n == 5 else 10)])
    refresh(full=True)
    with django_assert_max_num_queries(len(small)) as larger:
        client.get("/dashboards/herbs/", SPRING)

    assert len(larger) == len(small)
