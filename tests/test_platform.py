"""The platform shell: settings from the environment, production checks, pages per role,
the language default, the health endpoint and the demo seed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Institution, User
from audit.selectors import audit_queue_for
from catalogue.models import Herb, StockBatch
from patients.models import Patient
from prescriptions.models import Prescription
from tcm_platform.management.commands.seed_demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k7#Qw9!zLp2@Rm4$Tn6^Vb8&Xc1*Yd3(Fe5)Gh0-Jk2+Ls4=Nq6",
    "ALLOWED_HOSTS": "tcm.example.gov.cn",
    "SITE_URL": "https://tcm.example.gov.cn",
    "TCM_TRACE_KEYS": "k1:7b3f9e21c4d85a06e1f2b3c4d5e6f708192a3b4c5d6e7f80",
}


def run_manage(*args, env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "TCM_TRACE_KEYS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    base["DJANGO_SETTINGS_MODULE"] = "tcm_platform.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_nothing_under_the_documented_production_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "TCM_TRACE_KEYS"])
def test_production_refuses_to_start_without_a_required_setting(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_login_page_is_in_chinese_even_when_the_browser_asks_for_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html and "县域中药处方流转平台" in html


def test_a_user_can_switch_the_interface_to_english(client, clinician):
    client.force_login(clinician)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in html and "Patients" in html and "Log out" in html


def test_pages_require_login(client):
    for name in ("home", "patients:list", "catalogue:herbs", "catalogue:stock"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "shown", "hidden"),
    [
        ("clinician", ["患者", "饮片目录"], ["库存", "管理后台"]),
        ("dispenser", ["饮片目录", "库存"], ["患者", "管理后台"]),
        ("courier", ["饮片目录"], ["患者", "库存", "管理后台"]),
        ("county_admin", ["患者", "饮片目录", "库存", "管理后台"], []),
    ],
)
def test_the_navigation_shows_each_role_its_own_pages(client, request, persona, shown, hidden):
    client.force_login(request.getfixturevalue(persona))
    nav = client.get(reverse("home")).content.decode().split('<nav class="nav"')[1].split("</nav>")[0]
    for label in shown:
        assert label in nav
    for label in hidden:
        assert label not in nav


def test_a_page_outside_the_role_is_forbidden(client, courier):
    client.force_login(courier)
    assert client.get(reverse("patients:list")).status_code == 403
    assert client.get(reverse("catalogue:stock")).status_code == 403


def test_county_admin_sees_the_whole_herb_catalogue_in_the_admin(client, county_admin, catalogue):
    client.force_login(county_admin)
    response = client.get("/admin/catalogue/herb/?all=")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{Herb.objects.count()} 饮片" in html or str(Herb.objects.count()) in html
    assert "藜芦" in html and "甘草" in html


def test_health_endpoint_answers_without_login(client, db):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_seed_demo_builds_one_county_and_running_it_again_changes_nothing(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    counts = (
        Institution.objects.count(),
        User.objects.count(),
        Patient.objects.count(),
        StockBatch.objects.count(),
        Prescription.objects.count(),
    )
    assert counts[0] == 11 and counts[2] >= 30
    for username in ("clinician", "pharmacist", "dispenser", "decoctor", "courier", "countyadmin", "admin"):
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="admin").is_superuser
    assert not Herb.objects.filter(active=True, price_per_g__isnull=True).exists()
    assert not Herb.objects.filter(active=True).exclude(stock_batches__isnull=False).exists()
    queue = audit_queue_for(User.objects.get(username="pharmacist"))
    assert queue.filter(risk_level="none").exists() and queue.filter(risk_level="high").exists()
    assert {"approved", "rejected", "submitted"} <= set(Prescription.objects.values_list("status", flat=True))

    call_command("seed_demo")
    again = (
        Institution.objects.count(),
        User.objects.count(),
        Patient.objects.count(),
        StockBatch.objects.count(),
        Prescription.objects.count(),
    )
    assert again == counts


def test_count_and_get_counts_from_one_reads_the_value_and_lets_the_counter_expire(settings):
    from django.core.cache import caches

    from core.cache import RedisCache, count_and_get

    cache = caches["default"]
    cache.set("cag:value", {"page": "html"}, 60)
    cache.delete("cag:counter")

    first = count_and_get("cag:counter", 30, "cag:value")
    second = count_and_get("cag:counter", 30, "cag:missing")
    third = count_and_get("cag:counter", 30)

    assert first == (1, {"page": "html"})
    assert second == (2, None)
    assert third == (3, None)
    if isinstance(cache, RedisCache):  # the window is kept from the first hit, not renewed by later ones
        client = cache._cache.get_client(write=True)
        assert 0 < client.ttl(cache.make_and_validate_key("cag:counter")) <= 30
