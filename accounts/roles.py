"""The one role table. Roles are Django groups named by these codes; CAPABILITIES says which roles
hold each capability, and every "may I?" of the platform is derived from it: the moves of the
workflow (prescriptions.workflow names the capability each move needs), the station steps, the
pages, the API and the admin's model permissions (CAPABILITY_MODEL_PERMISSIONS, given to each role
group by sync_role_groups). A superuser administers: they hold every capability but the
ROLE_BOUND ones, the clinical work of the pipeline (prescribing, the final audit, dispensing,
re-check, decoction, delivery, hand-over and the stations), which only a person holding a role
that has them does, superuser or not (accounts.permissions.has_capability). No one holds the
workflow's SYSTEM marker, which is not a capability.

Pure data: no ORM at import time, so the workflow table can read it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician")
    PHARMACIST = "pharmacist", _("Pharmacist")
    DISPENSER = "dispenser", _("Dispenser")
    DECOCTION_OPERATOR = "decoction_operator", _("Decoction operator")
    COURIER = "courier", _("Courier")
    ADMINISTRATOR = "administrator", _("Administrator")


STAFF_ROLES = frozenset(Role.values)


def role_label(code: str) -> str:
    """The name people read for a role group's code (its Chinese label); another group's own name."""
    return str(Role(code).label) if code in Role.values else code


# Capability -> the roles that hold it.
CAPABILITIES: dict[str, frozenset[str]] = {
    "prescribe": frozenset({Role.CLINICIAN}),
    "view_patients": frozenset({Role.CLINICIAN, Role.PHARMACIST, Role.ADMINISTRATOR}),
    "manage_patients": frozenset({Role.CLINICIAN, Role.ADMINISTRATOR}),
    "final_audit": frozenset({Role.PHARMACIST}),
    # Score the month's sampled prescriptions (事后点评, audit.review): the pharmacists of the
    # institution the prescriptions' audits were routed to.
    "review_prescriptions": frozenset({Role.PHARMACIST}),
    "dispense": frozenset({Role.DISPENSER}),
    "recheck": frozenset({Role.PHARMACIST}),
    "decoct": frozenset({Role.DECOCTION_OPERATOR}),
    "deliver": frozenset({Role.COURIER}),
    # Hand packaged medicine to the patient who shows the pickup code: at the pharmacy or the clinic.
    "hand_over": frozenset({Role.DISPENSER, Role.CLINICIAN}),
    "work_stations": frozenset({Role.DISPENSER, Role.PHARMACIST, Role.DECOCTION_OPERATOR}),
    "view_catalogue": STAFF_ROLES,
    # See the county-wide lists in the admin (read-only); changing them is manage_catalogue.
    "view_reference_data": frozenset({Role.ADMINISTRATOR}),
    "manage_catalogue": frozenset({Role.ADMINISTRATOR}),
    "manage_station_settings": frozenset({Role.ADMINISTRATOR}),
    # An institution's own agreed formulas (协定方), within the administrator's subtree: not a
    # county-wide list, so a central centre keeps its own (catalogue.formulas.formula_save_agreed).
    "manage_agreed_formulas": frozenset({Role.ADMINISTRATOR}),
    "view_stock": frozenset({Role.DISPENSER, Role.PHARMACIST, Role.DECOCTION_OPERATOR, Role.ADMINISTRATOR}),
    "manage_stock": frozenset({Role.DISPENSER, Role.ADMINISTRATOR}),
    "view_dashboards": frozenset({Role.ADMINISTRATOR}),
    # Open the dashboards: an administrator sees its subtree's figures (view_dashboards), a
    # clinician only their own prescriptions' (volume, diagnoses, herbs, audit, review).
    "view_figures": frozenset({Role.CLINICIAN, Role.ADMINISTRATOR}),
    "manage_users": frozenset({Role.ADMINISTRATOR}),
    # Read the visiting-expert schedule (巡回坐诊) of one's subtree: every staff member.
    "view_schedule": STAFF_ROLES,
    # Edit the visiting-expert schedule (巡回坐诊) of the centres in the administrator's subtree.
    "manage_schedule": frozenset({Role.ADMINISTRATOR}),
    # Remote consults (远程会诊): a clinician (the village doctor) asks the hospitals above their
    # institution; a clinician of the hospital it is routed to (or the named expert) answers.
    "request_remote_consults": frozenset({Role.CLINICIAN}),
    "answer_remote_consults": frozenset({Role.CLINICIAN}),
}

# The pipeline's clinical work: held only through a role, never through being a superuser. A
# superuser administers; a pharmacist, not the platform's operator, approves a prescription and
# reviews it afterwards.
ROLE_BOUND = frozenset(
    {
        "prescribe",
        "final_audit",
        "review_prescriptions",
        "dispense",
        "recheck",
        "decoct",
        "deliver",
        "hand_over",
        "work_stations",
        "request_remote_consults",
        "answer_remote_consults",
    }
)

# Capabilities held only at the county level: by a holder placed at a root institution of the
# tree (the lead hospital), or by a superuser. The herbs, the 配伍禁忌 and toxic lists, the
# aliases, the formulas, the audit's rule tables and the stations' limits are one for the county; an
# administrator of a central health centre sees them but does not change them for everyone.
# accounts.permissions.has_capability applies it, and through it every admin model permission a
# capability brings (permission_allowed).
COUNTY_LEVEL = frozenset({"manage_catalogue", "manage_station_settings"})

# The admin site's model permissions each capability brings ("app_label.model": actions).
CAPABILITY_MODEL_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    # The people and places of the subtree: staff accounts, institutions, patients' registrations.
    "manage_users": {
        "accounts.institution": ("view", "add", "change"),
        "accounts.user": ("view", "add", "change"),
        "accounts.apitoken": ("view", "change"),  # change: revoke (accounts.admin.ApiTokenAdmin)
        "patients.patient": ("view", "change"),
    },
    # The reference data: the herbs and their rules, the formulas, the audit's rule tables.
    "view_reference_data": {
        "catalogue.herb": ("view",),
        "catalogue.herbalias": ("view",),
        "catalogue.barename": ("view",),
        "catalogue.incompatibilityrule": ("view",),
        "catalogue.toxiclistentry": ("view",),
        "catalogue.pregnancycaution": ("view",),
        "catalogue.formula": ("view",),
        "rules.ruleversion": ("view",),
        "rules.ageband": ("view",),
        "rules.custompairrule": ("view",),
        "decoction.stationsettings": ("view",),
        "delivery.deliveryhours": ("view",),
    },
    "manage_catalogue": {
        "catalogue.herb": ("view", "add", "change"),
        "catalogue.herbalias": ("view", "add", "change", "delete"),
        "catalogue.barename": ("view", "add", "change", "delete"),
        "catalogue.incompatibilityrule": ("view", "add", "change"),
        "catalogue.toxiclistentry": ("view", "add", "change"),
        "catalogue.pregnancycaution": ("view", "add", "change"),
        "catalogue.formula": ("view", "add", "change"),
        "rules.ruleversion": ("view", "change"),
        "rules.ageband": ("view", "add", "change"),
        "rules.custompairrule": ("view", "add", "change", "delete"),
    },
    # Read-only records of what happened: stock, audits, prescriptions stuck at a stage.
    "view_dashboards": {
        "catalogue.stockbatch": ("view",),
        "catalogue.stockmovement": ("view",),
        "audit.auditrun": ("view",),
        "audit.auditdecision": ("view",),
        "prescriptions.stuckflag": ("view",),
        "prescriptions.prescription": ("view",),
    },
    "manage_agreed_formulas": {
        "catalogue.formula": ("view", "add", "change"),  # agreed ones only (catalogue.admin.FormulaAdmin)
    },
    # The visiting-expert schedule of the subtree (outreach.admin saves through the service).
    "manage_schedule": {
        "outreach.clinicsession": ("view", "add", "change"),
    },
    # The stations' limits: one settings row for the county's stations.
    "manage_station_settings": {
        "decoction.stationsettings": ("view", "change"),
        "delivery.deliveryhours": ("view", "add", "change"),  # when couriers deliver (failed stops retried inside)
    },
}


def model_permissions_of(role: str) -> dict[str, tuple[str, ...]]:
    """The admin model permissions of the capabilities `role` holds ("app_label.model": actions)."""
    merged: dict[str, list[str]] = {}
    for capability, models_actions in CAPABILITY_MODEL_PERMISSIONS.items():
        if role not in CAPABILITIES[capability]:
            continue
        for model_label, actions in models_actions.items():
            held = merged.setdefault(model_label, [])
            held.extend(action for action in actions if action not in held)
    return {model_label: tuple(actions) for model_label, actions in merged.items()}


def _permission_capabilities() -> dict[tuple[str, str], frozenset[str]]:
    granting: dict[tuple[str, str], frozenset[str]] = {}
    for capability, models_actions in CAPABILITY_MODEL_PERMISSIONS.items():
        for model_label, actions in models_actions.items():
            app_label, model = model_label.split(".")
            for action in actions:
                key = (app_label, f"{action}_{model}")
                granting[key] = granting.get(key, frozenset()) | {capability}
    return granting


# Derived: ("app_label", "action_model") -> the capabilities that bring that admin permission.
PERMISSION_CAPABILITIES = _permission_capabilities()


def capabilities_granting(permission: str) -> frozenset[str]:
    """The capabilities whose admin model permissions include `permission` ("app_label.action_model");
    empty for a permission the table does not give."""
    app_label, _dot, codename = permission.partition(".")
    return PERMISSION_CAPABILITIES.get((app_label, codename), frozenset())


# Derived: the admin-site model permissions per role, as sync_role_groups gives them.
ROLE_MODEL_PERMISSIONS = {role: perms for role in Role if (perms := model_permissions_of(role))}


def sync_role_groups(sender=None, using="default", **kwargs):
    """Create one group per role and give it exactly the model permissions of the capabilities
    its role holds (ROLE_MODEL_PERMISSIONS)."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        wanted = []
        for model_label, actions in ROLE_MODEL_PERMISSIONS.get(role, {}).items():
            app_label, model = model_label.split(".")
            codenames = [f"{action}_{model}" for action in actions]
            wanted.extend(
                Permission.objects.using(using).filter(content_type__app_label=app_label, codename__in=codenames)
            )
        group.permissions.set(wanted)


# How long a signed-in page session may sit idle, per role: the setting that holds the minutes.
# Clinical work and administration (patients' records, prescriptions, accounts) on shared clinic
# computers: TCM_SESSION_IDLE_MINUTES (30). The stations' tablets and the courier's phone:
# TCM_STATION_SESSION_IDLE_MINUTES (120), so a soak, a decoction or a drive between townships
# does not sign the operator out mid-task, while a device left overnight does not stay signed in.
# A user holding several roles gets the shortest; one with none (a superuser) the clinical one.
SESSION_IDLE_SETTING: dict[str, str] = {
    Role.CLINICIAN: "TCM_SESSION_IDLE_MINUTES",
    Role.PHARMACIST: "TCM_SESSION_IDLE_MINUTES",
    Role.ADMINISTRATOR: "TCM_SESSION_IDLE_MINUTES",
    Role.DISPENSER: "TCM_STATION_SESSION_IDLE_MINUTES",
    Role.DECOCTION_OPERATOR: "TCM_STATION_SESSION_IDLE_MINUTES",
    Role.COURIER: "TCM_STATION_SESSION_IDLE_MINUTES",
}
