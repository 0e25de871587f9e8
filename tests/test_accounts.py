"""Institution tree rules, what each persona may see and do, role assignment, and the scoped admin."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.models import Institution, InstitutionKind
from accounts.permissions import (
    CAPABILITIES,
    can_see_institution,
    capabilities_of,
    has_capability,
    institutions_visible_to,
)
from accounts.roles import ROLE_BOUND, Role
from accounts.services import institution_save, user_set_roles

from .factories import InstitutionFactory, UserFactory

K = InstitutionKind
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory


def codes(queryset):
    return set(queryset.values_list("code", flat=True))


def parent_error(excinfo):
    """The parent field's messages in English (the models use lazy translations)."""
    with translation.override("en"):
        return " ".join(str(message) for message in excinfo.value.message_dict["parent"])


# --- The county tree ----------------------------------------------------------------------------


def test_village_clinic_can_be_saved_under_a_township(county):
    clinic = institution_save(
        institution=Institution(code="V002", name="新村卫生室", kind=K.VILLAGE_CLINIC, parent=county["T001"])
    )

    assert Institution.objects.get(code="V002").parent == county["T001"]
    assert clinic.pk in Institution.objects.subtree_ids(county["C001"].pk)


def test_village_clinic_cannot_sit_directly_under_the_lead_hospital(county):
    with pytest.raises(ValidationError) as excinfo:
        institution_save(
            institution=Institution(code="V002", name="新村卫生室", kind=K.VILLAGE_CLINIC, parent=county["H001"])
        )

    assert "parent" in excinfo.value.message_dict
    assert not Institution.objects.filter(code="V002").exists()


def test_lead_hospital_cannot_have_a_parent(county):
    with pytest.raises(ValidationError) as excinfo:
        institution_save(
            institution=Institution(code="H002", name="县中医院", kind=K.LEAD_HOSPITAL, parent=county["H001"])
        )

    assert "parent" in excinfo.value.message_dict
    assert not Institution.objects.filter(code="H002").exists()


def test_township_health_centre_needs_a_parent(db):
    with pytest.raises(ValidationError) as excinfo:
        institution_save(institution=Institution(code="T009", name="孤乡卫生院", kind=K.TOWNSHIP_HEALTH_CENTRE))

    assert "needs a parent" in parent_error(excinfo)


def test_moving_an_institution_below_its_own_descendant_is_refused_as_a_cycle(county):
    # The kind rules alone make a cycle impossible in a well-formed tree; this guards rows that
    # arrived some other way (here a centre saved under a township without the service).
    stray_centre = InstitutionFactory(code="C009", kind=K.CENTRAL_HEALTH_CENTRE, parent=county["T001"])
    township = county["T001"]
    township.parent = stray_centre

    with pytest.raises(ValidationError) as excinfo:
        institution_save(institution=township)

    assert "cannot belong to itself or to one below it" in parent_error(excinfo)
    township.refresh_from_db()
    assert township.parent == county["C001"]


def test_moving_a_township_to_another_centre_is_allowed(county):
    township = county["T003"]
    township.parent = county["C001"]

    institution_save(institution=township)

    assert county["T003"].pk in Institution.objects.subtree_ids(county["C001"].pk)


# --- Scope: which institutions each persona may see ---------------------------------------------


def test_clinician_sees_own_township_and_its_village_but_not_another_township(clinician):
    visible = codes(institutions_visible_to(clinician))

    assert visible == {"T001", "V001"}
    assert not can_see_institution(clinician, Institution.objects.get(code="T003").pk)


def test_centre_admin_sees_only_the_centres_subtree(centre_admin):
    assert codes(institutions_visible_to(centre_admin)) == {"C001", "T001", "V001"}


def test_county_admin_at_the_lead_hospital_sees_every_institution(county_admin, county):
    assert codes(institutions_visible_to(county_admin)) == set(county)


def test_superuser_without_an_institution_sees_every_institution(county):
    root = UserFactory(is_superuser=True, institution=None)

    assert codes(institutions_visible_to(root)) == set(county)
    assert can_see_institution(root, county["T003"].pk)


def test_user_without_an_institution_sees_no_institution(county):
    loose = UserFactory(institution=None, roles=[Role.ADMINISTRATOR])

    assert codes(institutions_visible_to(loose)) == set()
    assert not can_see_institution(loose, county["H001"].pk)


def test_anonymous_visitor_sees_no_institution(county):
    assert codes(institutions_visible_to(AnonymousUser())) == set()


# --- Capabilities -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "capability", "expected"),
    [
        ("courier", "view_patients", False),
        ("courier", "deliver", True),
        ("courier", "view_catalogue", True),
        ("courier", "view_stock", False),
        ("county_admin", "manage_catalogue", True),
        ("county_admin", "manage_users", True),
        ("county_admin", "prescribe", False),
        ("clinician", "prescribe", True),
        ("clinician", "manage_patients", True),
        ("clinician", "manage_catalogue", False),
        ("clinician", "manage_stock", False),
        ("pharmacist", "final_audit", True),
        ("pharmacist", "view_patients", True),
        ("pharmacist", "manage_patients", False),
        ("dispenser", "manage_stock", True),
        ("dispenser", "view_patients", False),
        ("decoctor", "decoct", True),
        ("decoctor", "view_stock", True),
        ("decoctor", "manage_stock", False),
    ],
)
def test_capability_table_grants_each_role_only_its_own_actions(request, persona, capability, expected):
    user = request.getfixturevalue(persona)

    assert has_capability(user, capability) is expected


def test_deactivated_user_loses_every_capability(clinician):
    clinician.is_active = False
    clinician.save()

    assert capabilities_of(clinician) == frozenset()


def test_anonymous_visitor_has_no_capability(db):
    assert capabilities_of(AnonymousUser()) == frozenset()


def test_superuser_has_every_capability_but_the_clinical_work_which_needs_a_role(db):
    root = UserFactory(is_superuser=True)
    pharmacist_root = UserFactory(is_superuser=True, roles=[Role.PHARMACIST])

    assert capabilities_of(root) == frozenset(CAPABILITIES) - ROLE_BOUND
    assert frozenset(CAPABILITIES) >= ROLE_BOUND
    assert capabilities_of(pharmacist_root) == frozenset(CAPABILITIES) - ROLE_BOUND | {
        "final_audit",
        "review_prescriptions",
        "recheck",
        "work_stations",
    }


def test_asking_for_an_unknown_capability_is_a_programming_error(clinician):
    with pytest.raises(KeyError):
        has_capability(clinician, "launch_rockets")


# --- Roles ----------------------------------------------------------------------------------------


def test_every_role_has_a_group_after_migrate(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_administrator_role_group_holds_the_admin_permissions_of_every_app_after_migrate(db):
    """The role table names catalogue and patient permissions too; migrate must grant them all."""
    perms = set(
        Group.objects.get(name=Role.ADMINISTRATOR).permissions.values_list("content_type__app_label", "codename")
    )

    assert ("accounts", "change_user") in perms
    assert ("catalogue", "change_herb") in perms
    assert ("catalogue", "view_stockbatch") in perms
    assert ("patients", "view_patient") in perms


def test_giving_the_administrator_role_makes_a_user_staff_and_taking_it_away_undoes_that(county):
    user = UserFactory(institution=county["C001"], roles=[Role.CLINICIAN])
    assert not user.is_staff

    user_set_roles(user=user, roles=[Role.ADMINISTRATOR])
    user.refresh_from_db()
    assert user.is_staff
    assert user.role_codes == {Role.ADMINISTRATOR}

    user_set_roles(user=user, roles=[Role.CLINICIAN])
    user.refresh_from_db()
    assert not user.is_staff
    assert user.role_codes == {Role.CLINICIAN}


def test_superuser_stays_staff_whatever_roles_they_are_given(db):
    root = UserFactory(is_superuser=True)

    user_set_roles(user=root, roles=[Role.COURIER])
    root.refresh_from_db()

    assert root.is_staff


def test_set_roles_refuses_an_unknown_role_and_keeps_the_current_ones(clinician):
    with pytest.raises(ValueError, match="herbalist"):
        user_set_roles(user=clinician, roles=[Role.PHARMACIST, "herbalist"])

    assert set(clinician.groups.values_list("name", flat=True)) == {Role.CLINICIAN}


# --- The admin site is scoped like everything else ------------------------------------------------


def admin_login(client, user):
    response = client.post(
        "/admin/login/", {"username": user.username, "password": PASSWORD, "next": "/admin/"}, follow=False
    )
    assert response.status_code == 302, "the administrator could not log into the admin site"
    return client


def changelist_values(response, attribute):
    assert response.status_code == 200
    return {getattr(obj, attribute) for obj in response.context["cl"].result_list}


def test_centre_admin_sees_only_users_of_the_centres_subtree_in_the_admin(client, centre_admin, clinician, outsider):
    admin_login(client, centre_admin)

    usernames = changelist_values(client.get("/admin/accounts/user/"), "username")

    assert usernames == {"centreadmin", "clinician"}


def test_centre_admin_cannot_open_a_user_of_another_township_in_the_admin(client, centre_admin, outsider):
    admin_login(client, centre_admin)

    response = client.get(f"/admin/accounts/user/{outsider.pk}/change/")

    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert response.url == "/admin/"


def test_centre_admin_sees_only_institutions_of_the_centres_subtree_in_the_admin(client, centre_admin):
    admin_login(client, centre_admin)

    institution_codes = changelist_values(client.get("/admin/accounts/institution/"), "code")

    assert institution_codes == {"C001", "T001", "V001"}


def test_county_admin_sees_every_user_in_the_admin(client, county_admin, clinician, outsider, courier):
    admin_login(client, county_admin)

    usernames = changelist_values(client.get("/admin/accounts/user/"), "username")

    assert usernames == {"countyadmin", "clinician", "outsider", "courier"}


def test_clinician_is_not_let_into_the_admin_site(client, clinician):
    client.force_login(clinician)

    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def user_change_data(user, **overrides):
    data = {
        "username": user.username,
        "name": user.name,
        "phone": user.phone,
        "email": user.email,
        "institution": user.institution_id,
        "groups": list(user.groups.values_list("pk", flat=True)),
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_centre_admin_cannot_make_a_user_superuser_through_the_admin(client, centre_admin, clinician):
    admin_login(client, centre_admin)
    url = f"/admin/accounts/user/{clinician.pk}/change/"
    # The same form without the escalation saves: the data below is a valid change form.
    assert client.post(url, user_change_data(clinician, name="李医生二")).status_code == 302
    clinician.refresh_from_db()
    assert clinician.name == "李医生二"

    client.post(url, user_change_data(clinician, is_superuser="on", is_staff="on"))

    clinician.refresh_from_db()
    assert not clinician.is_superuser


def test_centre_admin_cannot_move_a_user_into_a_township_outside_the_centre(client, centre_admin, clinician, county):
    admin_login(client, centre_admin)
    url = f"/admin/accounts/user/{clinician.pk}/change/"

    client.post(url, user_change_data(clinician, institution=county["T003"].pk))

    clinician.refresh_from_db()
    assert clinician.institution == county["T001"]


def test_centre_admin_cannot_add_an_institution_under_another_centre_in_the_admin(client, centre_admin, county):
    admin_login(client, centre_admin)
    form = {"code": "T009", "name": "新乡卫生院", "kind": K.TOWNSHIP_HEALTH_CENTRE, "township": "", "phone": ""}
    form.update(address="", is_active="on")
    # Under the centre's own township tree the same form saves: the data is a valid add form.
    assert client.post("/admin/accounts/institution/add/", {**form, "parent": county["C001"].pk}).status_code == 302
    assert Institution.objects.filter(code="T009", parent=county["C001"]).exists()

    client.post("/admin/accounts/institution/add/", {**form, "code": "T010", "parent": county["C002"].pk})

    assert not Institution.objects.filter(code="T010").exists()


def institution_change_data(institution, **overrides) -> dict:
    data = {field: getattr(institution, field) for field in ("code", "name", "kind", "township", "phone", "address")}
    data.update(parent=institution.parent_id or "", audited_by="", is_active="on")
    return {**data, **overrides}


def test_an_administrator_cannot_take_their_own_institution_out_of_the_county_in_the_admin(
    client, centre_admin, county_admin, county
):
    """Re-kinded a lead hospital with no parent, the centre (and its administrator) would leave
    the county administrator's subtree."""
    admin_login(client, centre_admin)
    centre = county["C001"]

    response = client.post(
        f"/admin/accounts/institution/{centre.pk}/change/",
        institution_change_data(centre, kind=K.LEAD_HOSPITAL, parent=""),
    )

    centre.refresh_from_db()
    assert response.status_code == 403
    assert (centre.kind, centre.parent_id) == (K.CENTRAL_HEALTH_CENTRE, county["H001"].pk)
    assert centre.pk in Institution.objects.subtree_ids(county_admin.institution_id)


def test_an_administrator_changes_institutions_below_their_own_but_never_into_a_new_root(client, centre_admin, county):
    admin_login(client, centre_admin)
    township = county["T001"]
    url = f"/admin/accounts/institution/{township.pk}/change/"

    assert client.post(url, institution_change_data(township, phone="0571-1234")).status_code == 302
    client.post(url, institution_change_data(township, kind=K.LEAD_HOSPITAL, parent=""))

    township.refresh_from_db()
    assert (township.phone, township.kind, township.parent_id) == (
        "0571-1234",
        K.TOWNSHIP_HEALTH_CENTRE,
        county["C001"].pk,
    )


def test_a_username_with_a_newline_cannot_forge_a_security_log_line(client, db, caplog):
    caplog.set_level("INFO", logger="tcm.security")

    client.post("/login/", {"username": "x\nlogin user=admin address=10.0.0.1", "password": "wrong"})

    lines = [r.getMessage() for r in caplog.records if r.name == "tcm.security"]
    assert lines and all("\n" not in line for line in lines)
    assert "login failed user=x\\x0alogin user=admin address=10.0.0.1 address=" in lines[0]
