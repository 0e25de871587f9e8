"""Roles are Django groups named by these codes; the role table below is the only place that
says which model permissions (for the admin) each role holds. What a role may do in the
pipeline is in accounts.permissions.CAPABILITIES."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician")
    PHARMACIST = "pharmacist", _("Pharmacist")
    DISPENSER = "dispenser", _("Dispenser")
    DECOCTION_OPERATOR = "decoction_operator", _("Decoction operator")
    COURIER = "courier", _("Courier")
    ADMINISTRATOR = "administrator", _("Administrator")


# Admin-site model permissions per role ("app_label.model": actions).
ROLE_MODEL_PERMISSIONS = {
    Role.ADMINISTRATOR: {
        "accounts.institution": ("view", "add", "change"),
        "accounts.user": ("view", "add", "change"),
        "catalogue.herb": ("view", "add", "change"),
        "catalogue.herbalias": ("view", "add", "change", "delete"),
        "catalogue.incompatibilityrule": ("view", "add", "change"),
        "catalogue.toxiclistentry": ("view", "add", "change"),
        "catalogue.pregnancycaution": ("view", "add", "change"),
        "catalogue.formula": ("view", "add", "change"),
        "catalogue.stockbatch": ("view",),
        "catalogue.stockmovement": ("view",),
        "patients.patient": ("view", "change"),
        "rules.ruleversion": ("view", "change"),
        "rules.ageband": ("view", "add", "change"),
        "rules.custompairrule": ("view", "add", "change", "delete"),
        "audit.auditrun": ("view",),
        "audit.auditdecision": ("view",),
        "prescriptions.stuckflag": ("view",),
    },
}


def sync_role_groups(sender=None, using="default", **kwargs):
    """Create one group per role and give it exactly the permissions in ROLE_MODEL_PERMISSIONS."""
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
