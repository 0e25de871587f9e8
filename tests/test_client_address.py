"""The client's address behind the documented reverse proxy (TCM_TRUSTED_PROXIES), as the sign-in
lockout, the tracking page's limits and the security log see it; and the tracking page's limit on
tries at the mobile's last 4 digits, a sliding window that holds across fixed-window boundaries."""

import random
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory

from core.addresses import client_address
from core.cache import count_in_window
from prescriptions.workflow import Stage

from .factories import PatientFactory
from .test_accounts import PASSWORD
from .test_tracking import api_url, page_url, prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

PROXY = "10.0.0.1"


@pytest.fixture
def behind_proxy(settings):
    settings.TCM_TRUSTED_PROXIES = ["10.0.0.0/29"]


def sign_in(username, password, *, remote=PROXY, forwarded=""):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return Client().post("/login/", {"username": username, "password": password}, REMOTE_ADDR=remote, **headers)


def signed_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def address_of(remote, forwarded="") -> str:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


# --- Behind the proxy ---------------------------------------------------------------------------------------


def test_behind_a_trusted_proxy_one_client_cannot_lock_out_another(behind_proxy, clinician):
    for _ in range(5):
        sign_in(clinician.username, "wrong", forwarded="203.0.113.5")

    assert not signed_in(sign_in(clinician.username, PASSWORD, forwarded="203.0.113.5"))
    assert signed_in(sign_in(clinician.username, PASSWORD, forwarded="198.51.100.7"))


def test_an_untrusted_client_cannot_spoof_x_forwarded_for(behind_proxy, clinician):
    # Straight to the application server: its X-Forwarded-For is whatever it likes.
    for attempt in range(5):
        sign_in(clinician.username, "wrong", remote="192.0.2.9", forwarded=f"203.0.113.{attempt}")
    # Through the proxy, with a made-up address to the left of the one the proxy appended.
    for attempt in range(5):
        sign_in(clinician.username, "wrong", forwarded=f"198.51.100.{attempt}, 203.0.113.5")

    assert not signed_in(sign_in(clinician.username, PASSWORD, remote="192.0.2.9", forwarded="198.51.100.99"))
    assert not signed_in(sign_in(clinician.username, PASSWORD, forwarded="198.51.100.99, 203.0.113.5"))


def test_the_client_is_the_right_most_forwarded_address_that_is_not_a_trusted_proxy(behind_proxy):
    assert address_of(PROXY, "forged, 203.0.113.5, 10.0.0.2") == "203.0.113.5"
    assert address_of(PROXY, "203.0.113.5") == "203.0.113.5"
    assert address_of(PROXY, None) == PROXY  # the proxy itself (a health check)
    assert address_of(PROXY, "10.0.0.3") == "10.0.0.3"
    assert address_of("192.0.2.9", "203.0.113.5") == "192.0.2.9"


def test_with_no_trusted_proxy_x_forwarded_for_is_ignored():
    assert address_of(PROXY, "203.0.113.5") == PROXY


def test_behind_a_trusted_proxy_each_client_has_its_own_tracking_budget(
    behind_proxy, client, clinician, catalogue, settings
):
    settings.TRACK_RATE_PER_MINUTE = 3
    prescription = prescription_at(clinician, Stage.DECOCTING)

    def get(forwarded):
        return client.get(page_url(prescription), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert [get("203.0.113.5") for _ in range(4)] == [200, 200, 200, 429]
    assert get("198.51.100.7") == 200


def test_the_security_log_names_the_client_behind_the_proxy(behind_proxy, clinician, caplog):
    caplog.set_level("INFO", logger="tcm.security")

    sign_in(clinician.username, "wrong", forwarded="203.0.113.5")

    assert "login failed user=clinician address=203.0.113.5 path=/login/" in caplog.messages


# --- The last-4 limit is a sliding window -------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, set by the test."""
    from django.utils import timezone

    now = {"at": timezone.now()}
    monkeypatch.setattr("django.utils.timezone.now", lambda: now["at"])
    return now


def test_the_last4_limit_holds_across_a_window_boundary(client, clinician, catalogue, clock, county):
    patient = PatientFactory(institution=county["T001"], mobile="13912345678")
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=patient)
    window = 15 * 60
    boundary = (int(clock["at"].timestamp()) // window + 1) * window
    clock["at"] = clock["at"] + timedelta(seconds=boundary - clock["at"].timestamp() - 2)

    def tries(last4):
        return client.post(api_url(prescription), {"last4": last4}, content_type="application/json").status_code

    assert [tries("0000") for _ in range(5)] == [403] * 5
    clock["at"] += timedelta(seconds=4)  # past the boundary of a 15-minute fixed window

    assert tries("5678") == 429, "a sixth try within 15 minutes, right digits or not"
    clock["at"] += timedelta(minutes=17)
    assert tries("5678") == 200, "the tries of more than 16 minutes ago are forgotten"


def test_the_sliding_window_never_lets_more_than_the_limit_through_in_any_window():
    limit, window, rng = 5, 900, random.Random(20)
    moments = sorted(rng.uniform(0, 10 * window) for _ in range(80))

    let_through = [at for at in moments if count_in_window("test:sliding", window=window, now=at) <= limit]

    assert len(let_through) > 2 * limit, "the limit lifts as the window slides on"
    assert all(sum(1 for other in let_through if at <= other < at + window) <= limit for at in let_through)
