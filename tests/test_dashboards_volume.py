"""The volume dashboard against a small history counted by hand: per period, institution and
clinician; centre against self-decoction, delivery against pickup, the urgent share; each
administrator's subtree and a clinician's own figures; the CSV behind the tables; bad filters."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.rollups import refresh
from prescriptions.workflow import Decoction, DeliveryMode

from .dashboard_history import HIGH, local, page, table

MARCH_APRIL = {"start": "2026-03-01", "end": "2026-04-30", "by": "month"}
CENTRE_TO_PICKUP = {"ai_audited": 1, "approved": 20, "dispensed": 50, "rechecked": 70, "soaking": 80}
CENTRE_TO_PICKUP |= {"decocting": 110, "packaged": 170, "picked_up": 200}
SELF_TO_DOOR = {"ai_audited": 1, "approved": 20, "dispensed": 50, "rechecked": 70, "packaged": 90}
SELF_TO_DOOR |= {"shipped": 120, "delivered": 600}


@pytest.fixture
def five(history, people):
    """Four prescriptions of the clinician (T001, under C001) and one of the outsider (T003, C002).
    March: p1 centre/pickup delivered, p2 self/address delivered, p3 urgent and rejected, p4 the
    outsider's; April: p5 with 甘遂 (toxic), approved over its signed 十八反."""
    clinician, outsider = people["clinician"], people["outsider"]
    history.walk(history.write(clinician, at=local(2026, 3, 2, 9)), CENTRE_TO_PICKUP)
    p2 = history.write(clinician, at=local(2026, 3, 2, 10), decoction=Decoction.SELF, delivery=DeliveryMode.ADDRESS)
    history.walk(p2, SELF_TO_DOOR)
    history.walk(history.write(clinician, at=local(2026, 3, 5, 9), urgent=True), {"ai_audited": 1, "rejected": 15})
    history.walk(history.write(outsider, at=local(2026, 3, 3, 9)), {"ai_audited": 1, "approved": 20})
    history.walk(
        history.write(clinician, at=local(2026, 4, 10, 9), herbs=HIGH, doses=3), {"ai_audited": 1, "approved": 30}
    )
    refresh(full=True)


def tiles(response) -> dict:
    return {str(label): value for label, value in response.context["figures"].tiles}


def test_the_county_sees_every_prescription_by_month_institution_and_clinician(client, people, five):
    response = page(client, people["county_admin"], "volume", **MARCH_APRIL)

    assert response.status_code == 200
    assert [(str(r["period"]), r["prescriptions"]) for r in table(response, "periods")] == [
        ("2026-03-01", 4),
        ("2026-04-01", 1),
    ]
    march = table(response, "periods")[0]
    assert (march["center"], march["self_decocted"], march["delivered_mode"], march["picked_up_mode"]) == (3, 1, 1, 3)
    assert (march["urgent"], march["urgent_share"]) == (1, 0.25)
    assert [(r["institution"], r["prescriptions"]) for r in table(response, "institutions")] == [
        ("白塔乡卫生院", 4),
        ("柳溪乡卫生院", 1),
    ]
    assert [(r["clinician"], r["prescriptions"]) for r in table(response, "clinicians")] == [
        ("李医生", 4),
        ("外乡医生", 1),
    ]
    assert tiles(response)["处方"] == 5


def test_a_central_centres_administrator_counts_only_its_subtree(client, people, five):
    response = page(client, people["centre_admin"], "volume", **MARCH_APRIL)

    assert [(r["institution"], r["prescriptions"]) for r in table(response, "institutions")] == [("白塔乡卫生院", 4)]
    assert "外乡医生" not in response.content.decode()


def test_a_clinician_sees_only_their_own_prescriptions_and_cannot_widen_it(client, people, five):
    own = page(client, people["outsider"], "volume", **MARCH_APRIL)
    asked_for_another = page(client, people["outsider"], "volume", clinician=people["clinician"].pk, **MARCH_APRIL)

    assert [(r["clinician"], r["prescriptions"]) for r in table(own, "clinicians")] == [("外乡医生", 1)]
    assert table(asked_for_another, "clinicians") == table(own, "clinicians")


def test_choosing_an_institution_counts_its_whole_subtree(client, people, five, county):
    response = page(client, people["county_admin"], "volume", institution=county["C001"].pk, **MARCH_APRIL)

    assert [(r["institution"], r["prescriptions"]) for r in table(response, "institutions")] == [("白塔乡卫生院", 4)]


def test_a_pharmacist_may_not_open_the_dashboards(client, people, five):
    assert page(client, people["pharmacist"], "volume").status_code == 403


def test_the_table_behind_each_chart_downloads_as_csv(client, people, five):
    response = page(client, people["county_admin"], "volume", format="csv", table="institutions", **MARCH_APRIL)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["机构", "处方"]
    assert [row[:2] for row in rows[1:]] == [["白塔乡卫生院", "4"], ["柳溪乡卫生院", "1"]]


def test_an_unknown_table_or_a_bad_date_is_a_400_naming_the_field(client, people, five):
    bad_date = page(client, people["county_admin"], "volume", start="2026-13-01")
    reversed_range = page(client, people["county_admin"], "volume", start="2026-04-01", end="2026-03-01")
    unknown = page(client, people["county_admin"], "volume", format="csv", table="nope")

    assert bad_date.status_code == 400 and "start" in bad_date.context["form"].errors
    assert reversed_range.status_code == 400 and "start" in reversed_range.context["form"].errors
    assert unknown.status_code == 400


def test_the_page_reads_the_same_number_of_queries_however_long_the_history(client, people, history, five):
    client.force_login(people["county_admin"])
    with CaptureQueriesContext(connection) as small:
        client.get("/dashboards/volume/", MARCH_APRIL)
    for day in range(6, 16):
        history.walk(history.write(people["clinician"], at=local(2026, 3, day, 9)), {"ai_audited": 1})
    refresh(full=True)
    with CaptureQueriesContext(connection) as larger:
        client.get("/dashboards/volume/", MARCH_APRIL)

    assert len(larger) == len(small)
