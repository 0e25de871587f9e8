"""Who may do what, written once. Pages, the API, the admin and each app's permissions.py
(moves, station steps, deliveries, audits) all ask these functions.

CAPABILITIES (the one role table, in accounts.roles) maps each action to the roles that may
perform it; a superuser holds every capability but the pipeline's clinical work (ROLE_BOUND),
which needs a role that has it. Object scope is separate: a user sees only their
own institution's subtree (superusers see everything).
"""

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from .models import Institution
from .roles import CAPABILITIES, ROLE_BOUND, STAFF_ROLES, Role

# Roles that make a user staff of the admin site (catalogue, users, institutions).
ADMIN_SITE_ROLES = frozenset({Role.ADMINISTRATOR})


def has_capability(user, capability: str) -> bool:
    """Does `user` hold `capability`? Active users by their roles; superusers hold every
    capability but the ROLE_BOUND ones (prescribing, auditing, the stations...), which they too
    hold only through a role. Raises KeyError for a name that is not in the table."""
    if capability not in CAPABILITIES:
        raise KeyError(f"Unknown capability {capability!r}")
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser and capability not in ROLE_BOUND:
        return True
    return bool(CAPABILITIES[capability] & user.role_codes)


def ensure_capability(user, capability: str) -> None:
    """Raise PermissionDenied unless `user` holds `capability`."""
    if not has_capability(user, capability):
        raise PermissionDenied(_("You do not have permission to do this."))


def capabilities_of(user) -> frozenset[str]:
    return frozenset(cap for cap in CAPABILITIES if has_capability(user, cap))


def institution_ids_visible_to(user) -> set[int] | None:
    """Ids of the institutions whose data `user` may see; None means all of them."""
    if not user or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return None
    if not user.institution_id:
        return set()
    if not hasattr(user, "_visible_institution_ids"):
        user._visible_institution_ids = Institution.objects.subtree_ids(user.institution_id)
    return user._visible_institution_ids


def institutions_visible_to(user) -> QuerySet:
    ids = institution_ids_visible_to(user)
    queryset = Institution.objects.all()
    return queryset if ids is None else queryset.filter(pk__in=ids)


def scope_to_institutions(queryset: QuerySet, user, field: str = "institution") -> QuerySet:
    """Limit `queryset` to rows whose `field` institution the user may see."""
    ids = institution_ids_visible_to(user)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def can_manage_user(actor, target) -> bool:
    """May `actor` change `target`'s account (details, roles, flags, password)?

    Only a superuser may change a superuser; anyone else needs `manage_users` and `target` inside
    their subtree (a user with no institution is outside every subtree)."""
    if not has_capability(actor, "manage_users"):
        return False
    if actor.is_superuser:
        return True
    if target.is_superuser or target.institution_id is None:
        return False
    return can_see_institution(actor, target.institution_id)


def roles_grantable_by(actor) -> QuerySet:
    """The role groups `actor` may give. Nobody raises another above themselves: a role may be
    given only if every admin permission it carries is one the giver holds."""
    groups = Group.objects.filter(name__in=STAFF_ROLES)
    if actor.is_superuser:
        return groups
    held = actor.get_all_permissions()
    beyond = [
        group.pk
        for group in groups.prefetch_related("permissions__content_type")
        if any(f"{p.content_type.app_label}.{p.codename}" not in held for p in group.permissions.all())
    ]
    return groups.exclude(pk__in=beyond)


def can_see_institution(user, institution_id: int | None) -> bool:
    if institution_id is not None and user and user.is_authenticated and user.institution_id == institution_id:
        return True  # one's own institution, without loading the tree
    ids = institution_ids_visible_to(user)
    return ids is None or institution_id in ids


class CapabilityPermission(BasePermission):
    """DRF adapter: the API asks the same capability table as the pages."""

    capability = ""

    @classmethod
    def of(cls, capability: str):
        return type(f"Can_{capability}", (cls,), {"capability": capability})

    def has_permission(self, request, view):
        return has_capability(request.user, self.capability)
