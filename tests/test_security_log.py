"""The security log (`tcm.security`) and the double signature: a wrong signature password counts
towards the sign-in lockout and tells nothing the sign-in would not; logins by page and by token,
lockouts, the admin's own password page, permission denials, tracking lockouts and the
administrators' changes to users and role groups are logged, every value escaped."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from prescriptions.models import Prescription
from prescriptions.workflow import Stage

from .factories import PatientFactory, UserFactory
from .test_accounts import user_change_data
from .test_prescription_api import BLOCK_ITEMS, EIGHTEEN, PASSWORD, body, post, signed
from .test_tracking import page_url, prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

NEW_PASSWORD = "Another-pw-2026"


@pytest.fixture
def security(caplog):
    """The security log's lines as they are written, those of one event if given."""
    caplog.set_level("INFO", logger="tcm.security")

    def lines(event: str = "") -> list[str]:
        found = [record.getMessage() for record in caplog.records if record.name == "tcm.security"]
        return [line for line in found if line.startswith(event)]

    return lines


@pytest.fixture
def sign(client, clinician, catalogue):
    """Submit, as the signed-in clinician, a prescription with a 十八反 pair (a block-level
    finding) signed with `signature`."""
    client.force_login(clinician)
    patient = PatientFactory(institution=clinician.institution)

    def submit(signature):
        return post(client, body(patient, items=BLOCK_ITEMS, doses=3, double_signature=signature))

    return submit


def sign_in(username, password, **extra):
    return Client().post("/login/", {"username": username, "password": password}, **extra)


def signed_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


# --- The double signature is not a password oracle --------------------------------------------------------


def test_wrong_signature_passwords_count_towards_the_login_lockout(sign, clinician):
    for _ in range(5):
        assert sign(signed(password="wrong")).status_code == 400

    refused = sign_in(clinician.username, PASSWORD)

    assert not signed_in(refused)
    assert not Prescription.objects.exists()
    assert signed_in(sign_in(clinician.username, PASSWORD, REMOTE_ADDR="10.0.0.9")), "locked from this address only"


def test_once_locked_out_a_right_signature_password_is_refused_too(sign, clinician):
    for _ in range(5):
        sign_in(clinician.username, "wrong")

    response = sign(signed())

    assert response.status_code == 400
    assert response.json()["errors"]["double_signature.password"]
    assert not Prescription.objects.exists()


def test_a_missing_reason_gets_the_same_answer_with_a_right_or_a_wrong_password(sign):
    unsigned = {"reasons": {"dose.over_max:甘草": "不相干的理由"}}

    right = sign({**unsigned, "password": PASSWORD})
    wrong = sign({**unsigned, "password": "wrong"})

    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()
    assert set(right.json()["errors"]) == {
        "double_signature.password",
        "double_signature.reasons[incompatibility.eighteen:甘草+甘遂]",
    }
    assert not Prescription.objects.exists()


def test_wrong_signature_passwords_are_logged(sign, security):
    sign({"password": "wrong", "reasons": {EIGHTEEN: "病情需要"}})

    assert "double signature failed user=clinician reason=wrong password address=127.0.0.1" in security()


# --- What the security log says ---------------------------------------------------------------------------


def test_a_login_by_token_is_logged(clinician, security):
    response = Client().post("/api/v1/auth/token/", {"username": clinician.username, "password": PASSWORD})

    assert response.status_code == 200 and response.json()["token"]
    assert "login user=clinician address=127.0.0.1 path=/api/v1/auth/token/" in security()


def test_a_lockout_is_logged(clinician, security):
    for _ in range(5):
        sign_in(clinician.username, "wrong")

    assert "locked out user=clinician address=127.0.0.1 path=/login/" in security()


def test_the_admin_own_password_change_is_logged(client, county_admin, security):
    client.force_login(county_admin)
    form = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    response = client.post("/admin/password_change/", form)

    assert response.status_code == 302
    assert User.objects.get(pk=county_admin.pk).check_password(NEW_PASSWORD)
    assert "password changed user=countyadmin by=countyadmin address=127.0.0.1" in security()


def test_permission_denials_are_logged(client, clinician, security):
    client.force_login(clinician)

    page = client.get("/audit/")
    api = client.post("/api/v1/audit/batch-approve/", {}, content_type="application/json")
    anonymous = Client().get("/api/v1/audit/queue/")

    assert page.status_code == api.status_code == anonymous.status_code == 403
    assert security("permission denied") == [
        "permission denied user=clinician address=127.0.0.1 method=GET path=/audit/",
        "permission denied user=clinician address=127.0.0.1 method=POST path=/api/v1/audit/batch-approve/",
        "permission denied user=- address=127.0.0.1 method=GET path=/api/v1/audit/queue/",
    ]


def test_a_denied_users_name_cannot_forge_a_security_log_line(client, county, security):
    forger = UserFactory(username="x\npermission denied user=root", institution=county["T001"], roles=[Role.COURIER])
    client.force_login(forger)

    assert client.get("/audit/").status_code == 403

    assert security("permission denied") == [
        "permission denied user=x\\x0apermission denied user=root address=127.0.0.1 method=GET path=/audit/"
    ]


def test_a_tracking_last4_lockout_is_logged_without_the_patients_token(client, clinician, catalogue, security):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    for _ in range(6):
        client.post(page_url(prescription), {"last4": "0000"}, REMOTE_ADDR="10.0.0.7")

    assert security() == [f"tracking locked prescription={prescription.display_number} address=10.0.0.7"]
    assert prescription.tracking_token not in "".join(security())


def test_admin_changes_to_users_and_roles_are_logged_with_who_made_them(client, county_admin, clinician, security):
    client.force_login(county_admin)
    pharmacist = Group.objects.get(name=Role.PHARMACIST).pk
    change = user_change_data(clinician, groups=[*clinician.groups.values_list("pk", flat=True), pharmacist])

    assert client.post(f"/admin/accounts/user/{clinician.pk}/change/", change).status_code == 302
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    assert client.post(f"/admin/accounts/user/{clinician.pk}/delete/", {"post": "yes"}).status_code == 302

    roles = ",".join(sorted([Role.CLINICIAN, Role.PHARMACIST]))
    assert security("admin") == [
        f"admin changed user user=clinician fields=Groups roles={roles} by=countyadmin address=127.0.0.1",
        f"admin deleted user user=clinician fields=- roles={roles} by=root address=127.0.0.1",
    ]


def test_admin_changes_to_role_groups_are_logged(client, db, security):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)

    assert client.post("/admin/auth/group/add/", {"name": "夜班"}).status_code == 302

    assert security("admin") == ["admin added group group=夜班 fields=- by=root address=127.0.0.1"]
