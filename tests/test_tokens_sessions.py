"""API tokens, page sessions and the sign-in lockout, through the surfaces people and other
systems use: the token endpoint and the API, the admin's pages, the site's pages.

A HIS trades a username and password for a token at POST /api/v1/auth/token/ and calls the API
with `Authorization: Token <secret>`. A token expires (TCM_TOKEN_TTL_HOURS), ends with any change
of its user's password, and an administrator revokes it within the users they manage. A page
session ends after its role's idle time. Five failed sign-ins lock a username from an address.

New modules are imported inside the tests that need them, so each test fails on its own (and
for its own reason) where they do not exist."""

import hashlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin import helpers
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.exceptions import TokenRefused
from accounts.models import User
from accounts.roles import Role
from accounts.services import api_token_authenticate

from .factories import UserFactory
from .test_accounts import PASSWORD

NEW_PASSWORD = "a-new-Passw0rd-2026"
HERBS = "/api/v1/herbs/"
TOKENS = "/admin/accounts/apitoken/"


@pytest.fixture
def clock(monkeypatch):
    """The platform's clock (django.utils.timezone.now), moved forward by `clock.advance(**delta)`."""
    real_now = timezone.now
    offset = [timedelta()]
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset[0])

    class Clock:
        @staticmethod
        def advance(**delta):
            offset[0] += timedelta(**delta)

    return Clock()


def obtain_token(username="clinician", password=PASSWORD, **extra) -> dict:
    response = Client().post("/api/v1/auth/token/", {"username": username, "password": password, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def call_api(secret: str):
    return Client().get(HERBS, {"q": "gc"}, HTTP_AUTHORIZATION=f"Token {secret}")


def works(secret: str) -> bool:
    response = call_api(secret)
    assert response.status_code in (200, 401, 403), response.content
    return response.status_code == 200


# --- Tokens -----------------------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(clinician, catalogue, settings, clock):
    settings.TCM_TOKEN_TTL_HOURS = 24
    issued = obtain_token()
    assert works(issued["token"])
    clock.advance(hours=23, minutes=59)
    assert works(issued["token"])

    clock.advance(minutes=2)
    response = call_api(issued["token"])

    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "令牌已过期，请重新获取。"
    # A new token from the same credentials works again.
    assert works(obtain_token()["token"])


def test_the_token_endpoint_says_when_the_token_expires_90_days_by_default(clinician, catalogue):
    before = timezone.now()
    issued = obtain_token()

    expires = timezone.datetime.fromisoformat(issued["expires"])
    assert before + timedelta(days=90) <= expires <= timezone.now() + timedelta(days=90)


def test_a_his_may_hold_one_token_per_integration(clinician, county_admin, catalogue, client):
    his = obtain_token(name="县医院 HIS")
    lis = obtain_token(name="检验系统")
    assert his["token"] != lis["token"]
    assert works(his["token"]) and works(lis["token"])

    client.force_login(county_admin)
    tokens = client.get(TOKENS, {"user": clinician.pk}).context["cl"].result_list
    his_row = next(token for token in tokens if token.name == "县医院 HIS")
    client.post(TOKENS, {"action": "revoke_tokens", helpers.ACTION_CHECKBOX_NAME: [his_row.pk]})

    assert not works(his["token"])
    assert works(lis["token"])


def test_a_token_is_checked_with_its_user_and_institution_in_one_statement(clinician, catalogue):
    """Every API request authenticates: one statement, and the models it loads are the real rows."""
    secret = obtain_token()["token"]
    api_token_authenticate(secret=secret)  # the first use of the minute writes last_used
    with CaptureQueriesContext(connection) as queries:
        token = api_token_authenticate(secret=secret)
    assert len(queries) == 1
    assert (token.user, token.user.institution) == (clinician, clinician.institution)
    assert token.user.institution.name == clinician.institution.name
    assert token.expires > timezone.now() and token.revoked is None
    with pytest.raises(TokenRefused):
        api_token_authenticate(secret=secret[:-1] + ("0" if secret[-1] != "0" else "1"))


def test_no_table_keeps_a_token_secret_in_the_clear(clinician, catalogue):
    secret = obtain_token()["token"]

    holders = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            text = isinstance(field, (models.CharField, models.TextField))
            if text and model._default_manager.filter(**{f"{field.name}__contains": secret}).exists():
                holders.append(f"{model._meta.label}.{field.name}")
    assert holders == []
    assert works(secret)


def change_on_the_admins_set_password_page(client, user, county_admin):
    client.force_login(county_admin)
    response = client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content


def change_on_the_users_own_password_page(client, user, county_admin):
    client.force_login(user)
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def change_through_set_password(client, user, county_admin):
    user.set_password(NEW_PASSWORD)  # manage.py changepassword, seed_demo, a shell
    user.save()


@pytest.mark.parametrize(
    "change",
    [change_on_the_admins_set_password_page, change_on_the_users_own_password_page, change_through_set_password],
)
def test_changing_the_password_revokes_the_users_tokens(client, county, county_admin, catalogue, change):
    # An administrator of C001 holds a token too; every user's password can be changed in one of these ways.
    user = UserFactory(username="integrator", institution=county["C001"], roles=[Role.ADMINISTRATOR, Role.CLINICIAN])
    first, second = obtain_token("integrator")["token"], obtain_token("integrator", name="LIS")["token"]
    others = obtain_token("countyadmin")["token"]
    assert works(first) and works(second)

    change(client, User.objects.get(pk=user.pk), county_admin)

    assert not works(first) and not works(second)
    assert works(others)
    # Rotation: the new password gets a new token, which works.
    assert works(obtain_token("integrator", NEW_PASSWORD)["token"])


def test_an_administrator_can_revoke_a_token_of_a_user_in_their_subtree(client, clinician, centre_admin, catalogue):
    secret = obtain_token(name="白塔乡 HIS")["token"]
    assert works(secret)
    client.force_login(centre_admin)

    response = client.post(TOKENS, {"action": "revoke_tokens", helpers.ACTION_CHECKBOX_NAME: [token_id(clinician)]})

    assert response.status_code == 302
    assert not works(secret)
    assert call_api(secret).json()["detail"] == "令牌无效。"
    listed = client.get(TOKENS, {"user": clinician.pk})
    assert "已吊销" in listed.content.decode()


def token_id(user) -> int:
    return user.api_tokens.get().pk


def test_an_administrator_cannot_revoke_tokens_outside_their_subtree(
    client, clinician, outsider, centre_admin, county, catalogue
):
    """centreadmin (C001) selects, in one action, a token of its own township, one of another
    centre's township, one of a peer administrator of C001 and its own: only the first ends."""
    peer = UserFactory(username="c001peer", institution=county["C001"], roles=[Role.ADMINISTRATOR])
    secrets = {who.username: obtain_token(who.username)["token"] for who in (clinician, outsider, peer, centre_admin)}
    ids = [token_id(who) for who in (clinician, outsider, peer, centre_admin)]
    client.force_login(centre_admin)

    listed = {token.pk for token in client.get(TOKENS).context["cl"].result_list}
    client.post(TOKENS, {"action": "revoke_tokens", helpers.ACTION_CHECKBOX_NAME: ids})

    assert token_id(outsider) not in listed  # another centre's users' tokens are not even listed
    assert {username: works(secret) for username, secret in secrets.items()} == {
        "clinician": False,
        "outsider": True,
        "c001peer": True,  # seen (like the peer's account), not theirs to change
        "centreadmin": True,  # nobody changes their own account in the admin
    }


def test_an_administrator_sees_a_users_tokens_but_never_their_secret(client, clinician, centre_admin, catalogue):
    his = obtain_token(name="白塔乡 HIS")
    assert works(his["token"])
    client.force_login(centre_admin)

    user_page = client.get(f"/admin/accounts/user/{clinician.pk}/change/").content.decode()
    listed = client.get(TOKENS, {"user": clinician.pk})
    token_page = client.get(f"{TOKENS}{token_id(clinician)}/change/")

    assert "白塔乡 HIS" in user_page and f"{TOKENS}?user={clinician.pk}" in user_page
    text = listed.content.decode()
    for heading in ("名称", "创建时间", "最近使用", "到期时间", "状态"):
        assert heading in text
    row = listed.context["cl"].result_list[0]
    assert row.name == "白塔乡 HIS" and row.last_used is not None and row.expires > timezone.now()
    for page in (user_page, text, token_page.content.decode()):
        assert his["token"] not in page
        assert hashlib.sha256(his["token"].encode()).hexdigest() not in page


# --- Page sessions ----------------------------------------------------------------------------------------------


def signed_in(client) -> bool:
    response = client.get("/patients/")
    return response.status_code == 200


def test_a_clinical_session_ends_after_30_idle_minutes(client, clinician, clock):
    client.force_login(clinician)
    assert signed_in(client)
    clock.advance(minutes=29)
    assert signed_in(client)

    clock.advance(minutes=31)
    response = client.get("/patients/")

    assert response.status_code == 302 and response["Location"] == "/login/?next=/patients/"
    page = client.get(response["Location"]).content.decode()
    assert "您已 30 分钟未操作，已自动退出，请重新登录。" in page
    assert not signed_in(client)


def test_a_form_posted_after_the_idle_time_saves_nothing_and_leads_to_sign_in(client, clinician, catalogue, clock):
    from patients.models import Patient

    from .test_patients import form_data

    client.force_login(clinician)
    assert client.get("/patients/new/").status_code == 200
    clock.advance(minutes=31)

    response = client.post("/patients/new/", form_data())

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "您已 30 分钟未操作" in client.get("/login/").content.decode()
    assert not Patient.objects.exists()


def test_activity_keeps_a_session_alive(client, clinician, clock):
    client.force_login(clinician)
    for _ in range(6):  # two hours, a page every 20 minutes
        assert signed_in(client)
        clock.advance(minutes=20)
    assert signed_in(client)

    clock.advance(minutes=31)
    assert not signed_in(client)


def test_station_and_courier_sessions_last_two_idle_hours_and_the_strictest_role_wins(client, county, clock):
    dispenser = UserFactory(username="tablet", institution=county["P001"], roles=[Role.DISPENSER])
    courier = UserFactory(username="phone", institution=county["D001"], roles=[Role.COURIER])
    both = UserFactory(username="both", institution=county["P001"], roles=[Role.DISPENSER, Role.PHARMACIST])
    pages = {dispenser: "/stations/", courier: "/delivery/", both: "/stations/"}

    def idle_for(user, minutes) -> bool:
        client.force_login(user)
        assert client.get(pages[user]).status_code == 200
        clock.advance(minutes=minutes)
        return client.get(pages[user]).status_code == 200

    assert idle_for(dispenser, 119) and idle_for(courier, 119)
    assert not idle_for(dispenser, 121) and not idle_for(courier, 121)
    assert not idle_for(both, 31)  # a pharmacist at the station is still a pharmacist


def test_the_idle_times_come_from_the_settings(client, clinician, courier, settings, clock):
    settings.TCM_SESSION_IDLE_MINUTES = 10
    settings.TCM_STATION_SESSION_IDLE_MINUTES = 15
    client.force_login(clinician)
    assert signed_in(client)
    clock.advance(minutes=11)
    assert not signed_in(client)

    client.force_login(courier)
    assert client.get("/delivery/").status_code == 200
    clock.advance(minutes=16)
    assert client.get("/delivery/").status_code == 302


def test_an_idle_session_is_refused_by_the_api_as_json(client, clinician, catalogue, clock):
    client.force_login(clinician)
    assert client.get(HERBS).status_code == 200

    clock.advance(minutes=31)
    response = client.get(HERBS)

    assert response.status_code in (401, 403) and "detail" in response.json()


# --- The sign-in lockout ----------------------------------------------------------------------------------------


def fail_five_times(client, url, username="clinician"):
    for _ in range(5):
        client.post(url, {"username": username, "password": "wrong-password"})


def test_the_lockout_page_is_chinese_in_the_site_layout_and_says_how_long(client, clinician):
    fail_five_times(client, "/login/")

    response = client.post("/login/", {"username": "clinician", "password": PASSWORD})

    page = response.content.decode()
    assert response.status_code == 429
    assert '<html lang="zh-hans">' in page and 'class="topbar"' in page and "县域中药处方流转平台" in page
    assert "登录失败次数过多，该账号在此地址已被锁定 15 分钟，请稍后再试。" in page
    assert response["Retry-After"] == "900"
    assert client.get("/patients/")["Location"].startswith("/login/")  # the right password did not sign in


def test_a_locked_out_api_client_gets_the_same_message_as_json_with_retry_after(clinician, settings):
    settings.AXES_COOLOFF_TIME = 0.5  # hours
    his = Client()
    fail_five_times(his, "/api/v1/auth/token/")

    response = his.post("/api/v1/auth/token/", {"username": "clinician", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "登录失败次数过多，该账号在此地址已被锁定 30 分钟，请稍后再试。",
        "errors": {},
    }
    assert response["Retry-After"] == "1800"
    assert "token" not in response.json()
