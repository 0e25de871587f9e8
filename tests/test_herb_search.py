"""Herb search by Chinese name, pinyin, initials and alias, through the API and the selector."""

import pytest

from catalogue.models import Herb
from catalogue.selectors import herb_search

URL = "/api/v1/herbs/"


@pytest.fixture
def clinician_api(api, clinician, catalogue):
    api.force_login(clinician)
    return api


def search(client, q, **params):
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def names(results):
    return [row["name"] for row in results]


@pytest.mark.parametrize(
    ("q", "first"),
    [("gc", "甘草"), ("zgc", "炙甘草"), ("gancao", "甘草"), ("yhs", "延胡索"), ("GC", "甘草"), ("Gan Cao", "甘草")],
)
def test_pinyin_and_initials_put_the_exact_herb_first_regardless_of_case_and_spaces(clinician_api, q, first):
    assert names(search(clinician_api, q))[0] == first


def test_chinese_name_puts_the_exact_herb_first_then_its_processed_form(clinician_api):
    assert names(search(clinician_api, "甘草"))[:2] == ["甘草", "炙甘草"]


def test_alias_finds_the_catalogue_herb_and_says_which_alias_matched(clinician_api):
    first = search(clinician_api, "元胡")[0]

    assert first["name"] == "延胡索"
    assert first["matched_alias"] == "元胡"


def test_direct_match_reports_no_alias(clinician_api):
    assert search(clinician_api, "甘草")[0]["matched_alias"] == ""


def test_inactive_herbs_are_left_out_unless_asked_for(clinician_api):
    assert "藜芦" not in names(search(clinician_api, "藜芦"))
    assert "藜芦" not in names(search(clinician_api, "ll"))

    found = search(clinician_api, "藜芦", include_inactive="1")

    assert names(found)[0] == "藜芦"
    assert found[0]["active"] is False


def test_empty_query_lists_active_herbs_paginated(clinician_api):
    response = clinician_api.get(URL)

    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == Herb.objects.filter(active=True).count()
    assert body["next"] is not None
    assert body["previous"] is None
    assert len(body["results"]) == 20
    assert all(row["active"] for row in body["results"])


def test_page_size_is_capped_at_one_hundred(clinician_api):
    body = clinician_api.get(URL, {"page_size": 500}).json()

    assert body["count"] > 100
    assert len(body["results"]) == 100


def test_anonymous_visitor_gets_a_json_refusal(api, catalogue):
    response = api.get(URL, {"q": "gc"})

    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_courier_may_search_the_catalogue(api, courier, catalogue):
    api.force_login(courier)

    assert names(search(api, "gc"))[0] == "甘草"


def test_selector_ranks_initials_pinyin_and_alias_matches(catalogue):
    assert herb_search("zgc")[0].herb.name == "炙甘草"
    assert herb_search("gancao")[0].herb.name == "甘草"
    alias_match = herb_search("元胡")[0]
    assert (alias_match.herb.name, alias_match.matched_alias) == ("延胡索", "元胡")


def test_selector_returns_nothing_for_a_blank_query_or_an_inactive_herb(catalogue):
    assert herb_search("   ") == []
    assert herb_search("藜芦") == []
    assert [m.herb.name for m in herb_search("藜芦", include_inactive=True)] == ["藜芦"]


def test_selector_limit_cuts_the_ranked_list(catalogue):
    assert [m.herb.name for m in herb_search("甘草", limit=1)] == ["甘草"]


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "gc"}, {"q": "g"}, {"q": "甘草"}, {"q": "元胡"}, {"q": "藜芦"}, {"q": "藜芦", "include_inactive": "1"}],
)
def test_the_herb_api_and_page_list_the_same_herbs_in_the_same_order(clinician_api, params):
    api_names = names(clinician_api.get(URL, {**params, "page_size": 50}).json()["results"])
    page = clinician_api.get("/catalogue/herbs/", params)

    assert page.status_code == 200
    assert [herb.name for herb in page.context["page"]] == api_names


def test_an_unknown_formula_kind_is_a_400_at_kind(clinician_api):
    response = clinician_api.get("/api/v1/formulas/", {"kind": "secret"})

    assert response.status_code == 400
    assert response.json()["errors"].keys() == {"kind"}


def test_formulas_filter_by_kind_and_search_text(clinician_api):
    classical = clinician_api.get("/api/v1/formulas/", {"kind": "classical", "page_size": 100}).json()
    found = clinician_api.get("/api/v1/formulas/", {"q": "桂枝汤"}).json()["results"]

    assert classical["count"] > 0 and {row["kind"] for row in classical["results"]} == {"classical"}
    assert found and all("桂枝汤" in row["name"] for row in found)
    assert clinician_api.get("/api/v1/formulas/", {"kind": "personal"}).json()["count"] == 0


def test_the_next_page_link_keeps_every_filter_not_only_the_search_text(clinician_api):
    page = clinician_api.get("/catalogue/herbs/", {"include_inactive": "1", "page": "1"})

    assert 'href="?include_inactive=1&amp;page=2"' in page.content.decode()


# --- ranked by use, toxic items marked, processed forms shown (issue 16, item 11) ---------------------------


@pytest.fixture
def county_patient(county):
    from .factories import PatientFactory

    return PatientFactory(institution=county["T001"])


def prescribe(client, patient, herb, grams, times):
    from .test_prescription_api import body, post

    for _ in range(times):
        response = post(client, body(patient, items=[{"herb": herb, "grams": grams}], doses=3))
        assert response.status_code == 201, response.content


@pytest.mark.usefixtures("fresh_cache", "enqueued")
def test_suggestions_rank_by_county_use_then_formula_frequency(clinician_api, county_patient):
    from catalogue.selectors import herb_formula_counts
    from prescriptions.services.herb_use import herb_use_refresh

    herb_use_refresh()  # no history yet: the classical formulas decide (桂枝 in many, 广枣 in none)
    assert herb_formula_counts()["桂枝"] > herb_formula_counts().get("广枣", 0)
    before = names(search(clinician_api, "gz"))
    assert before[0] == "桂枝" and before.index("桂枝") < before.index("广枣")

    prescribe(clinician_api, county_patient, "广枣", "2", times=2)
    prescribe(clinician_api, county_patient, "桂枝", "6", times=1)
    herb_use_refresh()

    after = names(search(clinician_api, "gz"))
    assert after[0] == "广枣" and after.index("广枣") < after.index("桂枝")
    assert names(search(clinician_api, "gc"))[0] == "甘草", "a better match still wins over use"


def test_a_toxic_list_item_is_marked_when_offered_for_a_non_toxic_query(clinician_api):
    results = {row["name"]: row for row in search(clinician_api, "粉", page_size=100)}

    assert results["轻粉"]["toxic"] is True
    assert results["天花粉"]["toxic"] is False


def test_a_processed_form_shows_its_base_herb_and_processing(clinician_api):
    first = search(clinician_api, "zgc")[0]
    base = search(clinician_api, "gc")[0]

    assert (first["name"], first["base_herb"], first["processing"]) == ("炙甘草", "甘草", "炙")
    assert (base["name"], base["processing"]) == ("甘草", "")


def test_the_herb_detail_carries_its_toxic_mark_and_pharmacopoeia_excerpt(clinician_api):
    herb = Herb.objects.get(name="轻粉")

    detail = clinician_api.get(f"{URL}{herb.pk}/").json()

    assert detail["toxic"] is True
    assert isinstance(detail["pharmacopoeia_excerpt"], str)


def test_the_county_use_is_recounted_on_the_beat():
    from django.conf import settings

    assert {"task": "prescriptions.count_herb_use", "schedule": 600.0} in settings.CELERY_BEAT_SCHEDULE.values()
