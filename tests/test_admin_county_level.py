"""The admin site for administrators: the county-wide lists changed only at the county level (the
role table's COUNTY_LEVEL capabilities, applied to every model permission they bring), the
station limits editable, prescriptions read-only in the subtree, and names read in Chinese."""

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.utils import translation

from accounts.roles import COUNTY_LEVEL, PERMISSION_CAPABILITIES, Role
from audit.services import audit_run
from catalogue.models import Herb

from .factories import UserFactory
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued")

COUNTY_WIDE = sorted(
    f"{app}.{codename}"
    for (app, codename), capabilities in PERMISSION_CAPABILITIES.items()
    if capabilities <= COUNTY_LEVEL
)


def test_a_centre_administrator_uses_no_permission_of_a_county_level_capability_and_the_county_administrator_all(
    county_admin, centre_admin
):
    assert "catalogue.change_herb" in COUNTY_WIDE and "catalogue.add_incompatibilityrule" in COUNTY_WIDE
    assert {perm: centre_admin.has_perm(perm) for perm in COUNTY_WIDE} == dict.fromkeys(COUNTY_WIDE, False)
    assert {perm: county_admin.has_perm(perm) for perm in COUNTY_WIDE} == dict.fromkeys(COUNTY_WIDE, True)


def test_a_centre_administrator_still_sees_the_county_wide_lists_read_only(centre_admin):
    assert all(centre_admin.has_perm(f"catalogue.view_{model}") for model in ("herb", "toxiclistentry", "formula"))


def test_a_centre_administrators_herb_change_is_refused_and_changes_nothing(client, centre_admin, catalogue):
    herb = Herb.objects.get(name="甘草")
    client.force_login(centre_admin)
    assert client.post(f"/admin/catalogue/herb/{herb.pk}/change/", {"name": "甘草X"}).status_code == 403
    assert client.get("/admin/catalogue/incompatibilityrule/add/").status_code == 403
    assert Herb.objects.filter(name="甘草").exists()


def test_a_superuser_placed_anywhere_may_change_the_county_wide_lists(county):
    root = UserFactory(username="root-c001", is_superuser=True, is_staff=True, institution=county["C001"])
    assert root.has_perm("catalogue.change_herb") and root.has_perm("decoction.change_stationsettings")


def test_the_station_limits_are_changed_by_the_county_administrator_only(client, county_admin, centre_admin):
    from decoction.models import StationSettings

    row = StationSettings.current()
    url = f"/admin/decoction/stationsettings/{row.pk}/change/"
    client.force_login(centre_admin)
    assert client.post(url, {"soak_min_minutes": 45}).status_code == 403
    client.force_login(county_admin)
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, field.initial) for name, field in form.fields.items()}
    assert client.post(url, {**data, "soak_min_minutes": 45}).status_code == 302
    assert StationSettings.current().soak_min_minutes == 45
    assert client.get("/admin/decoction/stationsettings/add/").status_code == 403


def test_prescriptions_are_read_only_in_the_admin_and_seen_only_within_the_subtree(
    client, clinician, county_admin, centre_admin, county, catalogue
):
    prescription = prescription_at(clinician, "submitted")
    c002_admin = UserFactory(username="c002admin", institution=county["C002"], roles=[Role.ADMINISTRATOR])
    url = f"/admin/prescriptions/prescription/{prescription.pk}/change/"
    for admin in (county_admin, centre_admin):
        client.force_login(admin)
        assert client.get(url).status_code == 200
        assert prescription.number in client.get("/admin/prescriptions/prescription/").content.decode()
        assert client.post(url, {"usage": "x"}).status_code == 403
        assert client.get(f"/admin/prescriptions/prescription/{prescription.pk}/delete/").status_code == 403
    client.force_login(c002_admin)
    assert client.get(url).status_code == 302  # "does not exist", back to the admin index
    assert prescription.number not in client.get("/admin/prescriptions/prescription/").content.decode()


def test_role_names_risk_levels_and_durations_read_in_chinese_in_the_admin(
    client, clinician, pharmacist, county_admin, catalogue
):
    audit_run(prescription_id=prescription_at(clinician, "submitted").pk)
    client.force_login(county_admin)
    users = client.get("/admin/accounts/user/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "药师" in users and "医师" in users
    form = client.get(f"/admin/accounts/user/{clinician.pk}/change/").context["adminform"].form
    assert {label for _value, label in form.fields["groups"].choices} >= {"药师", "管理员"}
    runs = client.get("/admin/audit/auditrun/").content.decode()
    assert "无问题" in runs and "毫秒" in runs and ">none<" not in runs


def test_the_sign_in_lockout_section_of_the_admin_is_named_in_chinese():
    with translation.override("zh-hans"):
        assert str(apps.get_app_config("axes").verbose_name) == "登录锁定"
        assert str(AccessAttempt._meta.verbose_name_plural) == "登录尝试"
        assert str(AccessAttempt._meta.get_field("failures_since_start").verbose_name) == "失败次数"


def agreed_form(institution, name="城东止咳方", **values) -> dict:
    items = '[{"herb": "甘草", "grams": "6"}, {"herb": "桔梗", "grams": "9"}]'
    form = {"kind": "agreed", "name": name, "institution": institution.pk, "items": items, "usage": ""}
    return form | {"indications": "", "source": "", "active": "on"} | values


def test_a_centre_administrator_keeps_its_own_agreed_formulas_but_not_the_classical_ones(
    client, centre_admin, county, catalogue
):
    """An institution's agreed formulas (协定方) are its own, not a county-wide list."""
    from catalogue.models import Formula

    classical = Formula.objects.create(kind="classical", name="桔梗汤", items=[{"herb": "桔梗", "grams": "3"}])
    client.force_login(centre_admin)

    assert client.post("/admin/catalogue/formula/add/", agreed_form(county["C001"])).status_code == 302
    client.post("/admin/catalogue/formula/add/", agreed_form(county["C002"], name="城西方"))
    client.post("/admin/catalogue/formula/add/", agreed_form(county["C001"], name="经典", kind="classical"))
    refused = client.post(f"/admin/catalogue/formula/{classical.pk}/change/", agreed_form(county["C001"], name="改"))

    assert Formula.objects.filter(kind="agreed", institution=county["C001"], name="城东止咳方").exists()
    assert not Formula.objects.filter(name__in=["城西方", "经典", "改"]).exists()
    assert refused.status_code == 403 and Formula.objects.get(pk=classical.pk).name == "桔梗汤"
