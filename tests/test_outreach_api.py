"""The visiting-expert schedule's API (outreach.api): the list in the caller's scope with its
filters, the schedule managers' writes with the overlap refused at `starts_at`, and the public
township schedule with nothing private in it."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from accounts.roles import Role
from outreach.models import ClinicSession

from .factories import UserFactory

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

SESSIONS = "/api/v1/outreach/sessions/"


@pytest.fixture
def expert(county):
    return UserFactory(
        username="visitor9", name="陈国医", phone="13900000001", institution=county["H001"], roles=[Role.CLINICIAN]
    )


def soon(days=3) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def body(expert, place, starts="08:30", ends="11:30", day=None, **extra):
    return {
        "expert": expert.pk,
        "institution": place.pk,
        "date": day or soon(),
        "starts_at": starts,
        "ends_at": ends,
        **extra,
    }


def post(api, user, data):
    api.force_login(user)
    return api.post(SESSIONS, data, content_type="application/json")


def test_a_schedule_manager_creates_a_session_and_a_clash_is_a_400_at_starts_at_with_nothing_saved(
    api, county_admin, expert, county
):
    created = post(api, county_admin, body(expert, county["T001"], note="带教"))
    clash = post(api, county_admin, body(expert, county["T003"], starts="11:00", ends="12:00"))

    assert created.status_code == 201, created.json()
    assert created.json()["expert"] == {"id": expert.pk, "name": "陈国医"}
    assert created.json()["institution"]["code"] == "T001"
    assert clash.status_code == 400
    assert "白塔乡卫生院" in clash.json()["errors"]["starts_at"][0]
    assert ClinicSession.objects.count() == 1


def test_a_clinician_cannot_create_a_session_and_an_administrator_cannot_reach_a_centre_outside_its_subtree(
    api, clinician, centre_admin, expert, county
):
    assert post(api, clinician, body(expert, county["T001"])).status_code == 403
    outside = post(api, centre_admin, body(expert, county["T003"]))

    assert outside.status_code == 400
    assert set(outside.json()["errors"]) == {"institution"}
    assert not ClinicSession.objects.exists()


def test_the_list_shows_the_callers_subtree_and_own_sessions_filtered_by_centre_expert_and_dates(
    api, county_admin, clinician, outsider, expert, county
):
    for place, day in (("T001", soon(3)), ("T003", soon(4)), ("T001", soon(10))):
        assert post(api, county_admin, body(expert, county[place], day=day)).status_code == 201

    api.force_login(clinician)
    at_t001 = api.get(SESSIONS).json()["results"]
    api.force_login(outsider)
    at_t003 = api.get(SESSIONS).json()["results"]
    api.force_login(expert)
    own = api.get(SESSIONS, {"institution": county["T001"].pk, "from": soon(3), "to": soon(5)}).json()["results"]
    bad = api.get(SESSIONS, {"from": "next week"})

    assert [s["date"] for s in at_t001] == [soon(3), soon(10)]
    assert [s["institution"]["code"] for s in at_t003] == ["T003"]
    assert [(s["institution"]["code"], s["date"]) for s in own] == [("T001", soon(3))]
    assert bad.status_code == 400 and "from" in bad.json()["errors"]


def test_a_patch_moves_a_session_and_the_cancel_frees_the_experts_time(api, county_admin, expert, county):
    first = post(api, county_admin, body(expert, county["T001"])).json()
    url = reverse("api:outreach-session", args=[first["id"]])

    moved = api.patch(url, {"starts_at": "09:00", "ends_at": "10:00"}, content_type="application/json")
    clash = post(api, county_admin, body(expert, county["T003"], starts="09:30", ends="12:00"))
    cancelled = api.post(reverse("api:outreach-session-cancel", args=[first["id"]]))
    free = post(api, county_admin, body(expert, county["T003"], starts="09:30", ends="12:00"))

    assert moved.status_code == 200 and moved.json()["starts_at"] == "09:00"
    assert clash.status_code == 400 and "09:00" in clash.json()["errors"]["starts_at"][0]
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"]
    assert free.status_code == 201


def test_the_public_township_schedule_lists_the_coming_sessions_without_anything_private(
    api, county_admin, expert, county
):
    post(api, county_admin, body(expert, county["T001"], day=soon(2), note="请带既往病历"))
    post(api, county_admin, body(expert, county["T001"], day=soon(70)))  # beyond eight weeks
    gone = post(api, county_admin, body(expert, county["T001"], day=soon(5))).json()
    api.post(reverse("api:outreach-session-cancel", args=[gone["id"]]))
    api.logout()

    answer = api.get(reverse("api:outreach-township-sessions", args=["T001"]))
    unknown = api.get(reverse("api:outreach-township-sessions", args=["P001"]))

    assert answer.status_code == 200
    data = answer.json()
    assert data["centre"] == {"code": "T001", "name": "白塔乡卫生院", "township": "白塔乡"}
    assert [(s["date"], s["starts_at"], s["expert"]["name"]) for s in data["sessions"]] == [
        (soon(2), "08:30", "陈国医")
    ]
    assert data["sessions"][0]["expert"] == {"name": "陈国医", "institution": "县人民医院"}
    assert "13900000001" not in answer.content.decode()
    assert unknown.status_code == 404


def test_the_public_township_page_shows_the_coming_sessions_in_chinese_with_nothing_private(
    api, county_admin, expert, county
):
    day = date.today() + timedelta(days=2)
    post(api, county_admin, body(expert, county["T001"], day=day.isoformat(), note="请带既往病历"))
    api.logout()

    page = api.get("/outreach/T001/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "白塔乡卫生院" in html and "陈国医" in html and "县人民医院" in html and "请带既往病历" in html
    assert f"{day.month}月{day.day}日" in html and "08:30" in html and "星期" in html
    assert "13900000001" not in html and "visitor9" not in html
    assert "<script" not in html
    assert api.get("/outreach/T003/").status_code == 200 and "陈国医" not in api.get("/outreach/T003/").content.decode()


def test_an_id_larger_than_any_row_can_have_is_a_400_at_its_field_never_a_database_error(
    api, county_admin, expert, county
):
    huge = 2**70
    refused = post(api, county_admin, {**body(expert, county["T001"]), "expert": huge, "institution": huge})

    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"expert", "institution"}
    assert not ClinicSession.objects.exists()
