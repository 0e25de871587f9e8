"""`make demo` (issue 19): its links follow the host and port it serves, it prints the logins and a
tracking link last (the worker logs to a file), and its seed has several clinicians at several
townships, each with prescriptions at various stages, and stays idempotent."""

import subprocess
from collections import defaultdict

import pytest
from django.core.management import call_command

from accounts.models import Institution, User
from accounts.roles import Role
from delivery.models import DeliveryStop, Notification
from outreach.models import ClinicSession
from patients.models import Patient
from prescriptions.models import Prescription, TraceEvent
from tcm_platform.environment import demo_site_url
from teleconsult.models import RemoteConsult

from .test_platform import PRODUCTION_ENV, ROOT, run_manage

PRINT_SITE = [
    "shell",
    "--no-imports",
    "-c",
    "from django.conf import settings; print(settings.SITE_URL, *settings.ALLOWED_HOSTS)",
]


def test_in_debug_without_site_url_the_links_follow_the_host_and_port_the_demo_serves():
    result = run_manage(*PRINT_SITE, env={"TCM_DEMO_HOST": "127.0.0.1:8765"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "http://127.0.0.1:8765"


def test_a_site_url_that_is_set_wins_over_the_demo_host_and_its_host_is_allowed():
    result = run_manage(*PRINT_SITE, env={"TCM_DEMO_HOST": "127.0.0.1:8765", "SITE_URL": "http://tcm.test:9000/"})

    site, *allowed = result.stdout.split()
    assert site == "http://tcm.test:9000" and "tcm.test" in allowed


def test_a_demo_served_on_every_interface_links_to_an_address_a_phone_can_open():
    assert demo_site_url("127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert demo_site_url("8081") == "http://127.0.0.1:8081"
    wildcard = demo_site_url("0.0.0.0:8080")
    assert wildcard.endswith(":8080") and "0.0.0.0" not in wildcard


def test_production_still_refuses_to_start_without_site_url_whatever_the_demo_host():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SITE_URL"}

    result = run_manage("check", env={**env, "TCM_DEMO_HOST": "127.0.0.1:8765"})

    assert result.returncode != 0 and "SITE_URL" in result.stderr


def make_commands(target: str, *variables: str) -> str:
    """The commands `make target` would run (the virtualenv taken as made)."""
    return subprocess.run(
        ["make", "-n", "-o", ".venv/.runtime", target, *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def test_make_demo_logs_the_worker_to_a_file_and_prints_the_logins_after_the_worker_starts_and_before_the_server():
    commands = make_commands("demo", "HOST=0.0.0.0:8080", "TCM_VAR_DIR=/tmp/demo-var")

    worker, summary, server = (commands.index(word) for word in ("celery -A", "demo_summary", "runserver 0.0.0.0:8080"))
    assert worker < summary < server
    assert ">>/tmp/demo-var/log/worker.log 2>&1 &" in commands
    assert "seed_demo --no-summary" in commands


def fingerprint() -> tuple:
    """What a second seed must leave as it was."""
    return (
        sorted(Institution.objects.values_list("code", flat=True)),
        sorted(User.objects.values_list("username", flat=True)),
        Patient.objects.count(),
        sorted(Prescription.objects.values_list("number", "status")),
        TraceEvent.objects.count(),
        sorted(DeliveryStop.objects.values_list("prescription__number", "status")),
        Notification.objects.count(),
    )


@pytest.mark.django_db
def test_the_demo_has_several_clinicians_at_several_townships_each_with_prescriptions_at_several_stages(capsys):
    call_command("seed_demo", "--no-summary")
    stages = defaultdict(set)
    for username, township, status in Prescription.objects.values_list(
        "prescriber__username", "prescriber__institution__township", "status"
    ):
        stages[(username, township)].add(status)
    # The village doctor's clinic gets its prescriptions from the expert of its remote consults.
    clinicians = User.objects.filter(groups__name=Role.CLINICIAN).exclude(username="villagedoc")

    assert 4 <= clinicians.count() <= 6
    assert {username for username, _ in stages} == set(clinicians.values_list("username", flat=True))
    township_centres = {township for (_, township) in stages if township.endswith("乡")}
    assert len(township_centres) >= 3, township_centres
    assert all(len(statuses) >= 3 for statuses in stages.values()), stages
    assert DeliveryStop.objects.filter(status="failed").exists(), "a failed delivery attempt to show"
    assert Prescription.objects.filter(status="rejected").count() >= 2

    before = fingerprint()
    call_command("seed_demo")
    assert fingerprint() == before, "a second seed changes nothing"

    call_command("demo_summary")
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("====="), "the summary ends the output"
    assert out[-3].startswith("Patient tracking page (on its way): http://")
    assert out[-2].startswith("Visiting-expert schedule of a township (public): http://")
    assert all(any(line.split()[:1] == [user] for line in out) for user in ("clinician", "clinician5", "courier"))


@pytest.mark.django_db
def test_the_demo_has_the_experts_rounds_and_a_village_doctors_consults_at_each_point():
    call_command("seed_demo", "--no-summary")

    consults = RemoteConsult.objects.filter(requested_by__username="villagedoc")
    assert sorted(consults.values_list("status", flat=True)) == ["asking", "open", "prescribed"]
    answered = consults.get(status="prescribed").prescription
    assert answered.institution.code == "V001" and answered.prescriber.username == "expert"
    assert all(consult.photos.count() == 1 for consult in consults)
    sessions = ClinicSession.objects.filter(expert__username="expert", cancelled_at=None)
    assert {s.institution.code for s in sessions} == {"T001", "T003"} and sessions.count() == 6
