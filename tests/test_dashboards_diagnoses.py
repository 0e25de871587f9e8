"""The diagnoses dashboard against a small history counted by hand: the TCM disease and syndrome
mix with shares, the ICD-10 codes where recorded, the top diseases per month (whole months of
the range); each administrator's subtree and a clinician's own figures; the CSV; bad filters."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.rollups import refresh

from .dashboard_history import local, page, table

# Starts mid-March and ends early April: the monthly figures take both whole months.
SPRING = {"start": "2026-03-10", "end": "2026-04-05"}


@pytest.fixture
def ten(history, people):
    """Ten prescriptions in March and April 2026 (and one in January, outside the range).

    clinician (T001, under C001)              outsider (T003, under C002)
    03-02 胃痛 脾胃虚弱 K29.7                  03-06 胃痛 脾胃虚弱 K29.7
    03-09 胃痛 脾胃虚弱 K29.7                  04-02 咳嗽 痰湿蕴肺
    03-11 胃痛 肝胃不和
    03-03 感冒 风寒束表 J00
    03-04 感冒 风寒束表
    03-05 咳嗽 (no syndrome)
    04-01 感冒 风热犯表 J00
    04-03 头痛 (no syndrome)
    01-15 不寐 (outside the range)"""
    clinician, outsider = people["clinician"], people["outsider"]
    for at, disease, syndrome, icd10 in [
        (local(2026, 3, 2), "胃痛", "脾胃虚弱", "K29.7"),
        (local(2026, 3, 9), "胃痛", "脾胃虚弱", "K29.7"),
        (local(2026, 3, 11), "胃痛", "肝胃不和", ""),
        (local(2026, 3, 3), "感冒", "风寒束表", "J00"),
        (local(2026, 3, 4), "感冒", "风寒束表", ""),
        (local(2026, 3, 5), "咳嗽", "", ""),
        (local(2026, 4, 1), "感冒", "风热犯表", "J00"),
        (local(2026, 4, 3), "头痛", "", ""),
        (local(2026, 1, 15), "不寐", "心脾两虚", "G47.0"),
    ]:
        history.write(clinician, at=at, disease=disease, syndrome=syndrome, icd10=icd10)
    history.write(outsider, at=local(2026, 3, 6), disease="胃痛", syndrome="脾胃虚弱", icd10="K29.7")
    history.write(outsider, at=local(2026, 4, 2), disease="咳嗽", syndrome="痰湿蕴肺")
    refresh(full=True)


def mix(response, name: str) -> dict:
    return {str(r["name"]): (r["prescriptions"], r["share"]) for r in table(response, name)}


def counts_fall(response, name: str) -> bool:
    counts = [r["prescriptions"] for r in table(response, name)]
    return counts == sorted(counts, reverse=True)


def test_the_county_sees_the_disease_mix_with_shares_of_the_whole_months_touched(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", **SPRING)

    assert response.status_code == 200
    assert [(str(r["name"]), r["prescriptions"], r["share"]) for r in table(response, "diseases")] == [
        ("胃痛", 4, 0.4),
        ("感冒", 3, 0.3),
        ("咳嗽", 2, 0.2),
        ("头痛", 1, 0.1),
    ]
    assert "2026-03 至 2026-04" in response.content.decode()  # the page says which months it counts


def test_the_syndrome_mix_counts_each_syndrome_with_its_share(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", **SPRING)

    assert mix(response, "syndromes") == {
        "脾胃虚弱": (3, 0.3),
        "风寒束表": (2, 0.2),
        "肝胃不和": (1, 0.1),
        "风热犯表": (1, 0.1),
        "痰湿蕴肺": (1, 0.1),
        "未记录": (2, 0.2),
    }
    assert str(table(response, "syndromes")[0]["name"]) == "脾胃虚弱" and counts_fall(response, "syndromes")


def test_icd10_codes_where_recorded_and_the_share_of_prescriptions_that_have_one(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", **SPRING)
    tiles = {str(label): value for label, value in response.context["figures"].tiles}

    assert [(r["name"], r["prescriptions"], r["share"]) for r in table(response, "icd10")] == [
        ("K29.7", 3, 0.6),
        ("J00", 2, 0.4),
    ]
    assert (tiles["处方"], tiles["有ICD-10编码"], tiles["ICD-10编码率"], tiles["最常见病种"]) == (10, 5, 0.5, "胃痛")


def test_the_top_diseases_are_followed_month_by_month_with_zero_for_a_month_without(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", **SPRING)
    columns = dict(next(t for t in response.context["figures"].tables if t.name == "trend").columns)

    assert [columns[key] for key in ("d0", "d1", "d2", "d3")] == ["胃痛", "感冒", "咳嗽", "头痛"]
    assert table(response, "trend") == [
        {"month": "2026-03", "d0": 4, "d1": 2, "d2": 1, "d3": 0},
        {"month": "2026-04", "d0": 0, "d1": 1, "d2": 1, "d3": 1},
    ]


def test_a_central_centres_administrator_counts_only_its_subtree(client, people, ten):
    response = page(client, people["centre_admin"], "diagnoses", **SPRING)

    assert mix(response, "diseases") == {
        "胃痛": (3, 0.375),
        "感冒": (3, 0.375),
        "咳嗽": (1, 0.125),
        "头痛": (1, 0.125),
    }
    assert "痰湿蕴肺" not in response.content.decode()


def test_choosing_an_institution_counts_its_whole_subtree(client, people, ten, county):
    response = page(client, people["county_admin"], "diagnoses", institution=county["C002"].pk, **SPRING)

    assert mix(response, "diseases") == {"胃痛": (1, 0.5), "咳嗽": (1, 0.5)}


def test_a_clinician_sees_only_their_own_diagnoses_and_cannot_widen_them(client, people, ten):
    own = page(client, people["outsider"], "diagnoses", **SPRING)
    asked_for_another = page(client, people["outsider"], "diagnoses", clinician=people["clinician"].pk, **SPRING)

    assert own.status_code == 200
    assert mix(own, "diseases") == {"胃痛": (1, 0.5), "咳嗽": (1, 0.5)}
    assert mix(asked_for_another, "diseases") == mix(own, "diseases")


def test_a_pharmacist_may_not_open_the_diagnoses(client, people, ten):
    assert page(client, people["pharmacist"], "diagnoses").status_code == 403


def test_the_disease_mix_downloads_as_csv(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", format="csv", table="diseases", **SPRING)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["中医病名", "处方", "占比"],
        ["胃痛", "4", "0.4"],
        ["感冒", "3", "0.3"],
        ["咳嗽", "2", "0.2"],
        ["头痛", "1", "0.1"],
    ]


def test_the_trend_downloads_as_csv_with_a_column_per_disease(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", format="csv", table="trend", **SPRING)

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["月份", "胃痛", "感冒", "咳嗽", "头痛"],
        ["2026-03", "4", "2", "1", "0"],
        ["2026-04", "0", "1", "1", "1"],
    ]


def test_a_bad_date_is_a_400_with_the_error_at_its_field(client, people, ten):
    response = page(client, people["county_admin"], "diagnoses", start="2026-02-30")

    assert response.status_code == 400 and "start" in response.context["form"].errors
    assert "figures" not in response.context


def test_the_page_reads_the_same_number_of_queries_however_long_the_history(
    client, people, history, ten, django_assert_max_num_queries
):
    client.force_login(people["county_admin"])
    with CaptureQueriesContext(connection) as small:
        client.get("/dashboards/diagnoses/", SPRING)
    for n, disease in enumerate(["头痛", "眩晕", "不寐", "胸痹", "痹证", "水肿", "淋证", "月经不调"]):
        history.write(people["outsider"], at=local(2026, 3 + n % 2, 12 + n), disease=disease, syndrome=f"证{n}")
    refresh(full=True)
    with django_assert_max_num_queries(len(small)) as larger:
        client.get("/dashboards/diagnoses/", SPRING)

    assert len(larger) == len(small)
