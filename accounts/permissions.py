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

from .models import ApiToken, Institution, InstitutionTree
from .roles import CAPABILITIES, COUNTY_LEVEL, ROLE_BOUND, STAFF_ROLES, Role, capabilities_granting

# Roles that make a user staff of the admin site (catalogue, users, institutions).
ADMIN_SITE_ROLES = frozenset({Role.ADMINISTRATOR})


def has_capability(user, capability: str) -> bool:
    """Does `user` hold `capability`? Active users by their roles; superusers hold every
    capability but the ROLE_BOUND ones (prescribing, auditing, the stations...), which they too
    hold only through a role. A COUNTY_LEVEL capability (the county-wide lists) is held only by
    a holder placed at the county level (at_county_level). Raises KeyError for a name that is not
    in the table."""
    if capability not in CAPABILITIES:
        raise KeyError(f"Unknown capability {capability!r}")
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser and capability not in ROLE_BOUND:
        return True
    if capability in COUNTY_LEVEL and not at_county_level(user):
        return False
    return bool(CAPABILITIES[capability] & user.role_codes)


def at_county_level(user) -> bool:
    """Is `user` placed at a root of the institution tree (the lead hospital)? An administrator of
    a central health centre, a township or no institution is not."""
    return user.institution_id is not None and user.institution.parent_id is None


def permission_allowed(user, permission: str) -> bool:
    """May `user` use the admin model permission `permission` ("app_label.action_model") that
    their role group holds? Only while they hold one of the capabilities the role table gives it
    through (CAPABILITY_MODEL_PERMISSIONS), so a COUNTY_LEVEL capability's add, change and delete
    are refused below the county level. A permission the table does not give is not limited here.
    The authentication backend (accounts.backends) asks this for every model permission."""
    granting = capabilities_granting(permission)
    return not granting or any(has_capability(user, capability) for capability in granting)


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
        user._visible_institution_ids = institution_tree_for(user).subtree_ids(user.institution_id)
    return user._visible_institution_ids


def institution_tree_for(user) -> InstitutionTree:
    """The institution tree, read once for `user` (kept on the user object, loaded for one
    request, as its roles are): the scopes and the serving pharmacy a request asks about answer
    from it without reading the table again."""
    if not hasattr(user, "_institution_tree"):
        user._institution_tree = Institution.objects.tree()
    return user._institution_tree


def institutions_visible_to(user) -> QuerySet:
    ids = institution_ids_visible_to(user)
    queryset = Institution.objects.all()
    return queryset if ids is None else queryset.filter(pk__in=ids)


def scope_to_institutions(queryset: QuerySet, user, field: str = "institution") -> QuerySet:
    """Limit `queryset` to rows whose `field` institution the user may see."""
    ids = institution_ids_visible_to(user)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def can_manage_user(actor, target) -> bool:
    """May `actor` change `target`'s account in the admin (details, roles, flags, institution,
    password)? The change form, the password page and every save ask this.

    Nobody changes their own account there (one's own password goes through the admin's
    "change password" page, which asks for the old one). Only a superuser changes a superuser.
    Anyone else needs `manage_users` and `target` within their reach (may_place_user)."""
    if not has_capability(actor, "manage_users") or actor.pk == target.pk:
        return False
    if actor.is_superuser:
        return True
    if target.is_superuser:
        return False
    return may_place_user(actor, institution_id=target.institution_id, roles=target.role_codes)


def can_manage_institution(actor, institution: Institution) -> bool:
    """May `actor` change `institution` in the admin? A superuser may; an administrator
    (`manage_users`) only institutions strictly below their own. Not their own institution: a
    new kind or parent would take it, and them, out of the reach of the administrator above."""
    if not has_capability(actor, "manage_users"):
        return False
    if actor.is_superuser:
        return True
    return institution.pk != actor.institution_id and can_see_institution(actor, institution.pk)


def may_place_institution(actor, *, parent_id: int | None) -> bool:
    """May `actor` leave an institution below `parent_id`? A superuser anywhere, a root included;
    anyone else only inside their subtree, never as a new root beyond every administrator."""
    if actor.is_superuser:
        return True
    return parent_id is not None and can_see_institution(actor, parent_id)


def can_revoke_token(actor, token: ApiToken) -> bool:
    """May `actor` revoke `token`? Whoever may manage its user's account (can_manage_user): an
    administrator for the users strictly within their reach, never their own (their own tokens
    end with a change of their own password)."""
    return can_manage_user(actor, token.user)


def ensure_can_revoke_token(actor, token: ApiToken) -> None:
    """Raise PermissionDenied unless `actor` may revoke `token`."""
    if not can_revoke_token(actor, token):
        raise PermissionDenied(_("You may not revoke this token."))


def api_tokens_visible_to(user) -> QuerySet:
    """The API tokens (never their secrets) whose users `user` sees: those of their subtree, as
    the admin's user list shows them; revoking asks can_revoke_token."""
    queryset = ApiToken.objects.select_related("user", "revoked_by")
    if not has_capability(user, "manage_users"):
        return queryset.none()
    return scope_to_institutions(queryset, user, "user__institution")


def may_place_user(actor, *, institution_id: int | None, roles) -> bool:
    """May `actor` (with `manage_users`) leave a user at `institution_id` holding `roles`? A
    superuser may; anyone else only inside their subtree (a user with no institution is outside
    every subtree), and an administrator (a holder of `manage_users`) only STRICTLY below the
    actor's own institution: a peer, or someone above, is beyond them. Asked of a user as they
    are (can_manage_user) and as a save would leave them (the admin's user forms), so no save
    makes a user the actor could no longer manage."""
    if actor.is_superuser:
        return True
    if institution_id is None or not can_see_institution(actor, institution_id):
        return False
    if CAPABILITIES["manage_users"] & frozenset(roles):
        return institution_id != actor.institution_id
    return True


def roles_grantable_by(actor) -> QuerySet:
    """The groups `actor` may give: the platform's role groups (accounts.roles.Role), never any
    other group, whoever asks. This does not rank roles: administrators staff their subtree
    with every role, pipeline roles included, and may make administrators only below their own
    institution (may_place_user). What stops an administrator approving their own prescription
    is not this list but the pipeline's own checks (a pharmacist never audits a prescription
    they wrote; a re-checker is never the dispenser)."""
    return Group.objects.filter(name__in=STAFF_ROLES)


def can_see_institution(user, institution_id: int | None) -> bool:
    if institution_id is not None and user and user.is_authenticated and user.institution_id == institution_id:
        return True  # one's own institution, without loading the tree
    ids = institution_ids_visible_to(user)
    return ids is None or institution_id in ids


class CapabilityPermission(BasePermission):
    """DRF adapter: the API asks the same capability table as the pages."""

    capabilities: tuple[str, ...] = ()

    @classmethod
    def of(cls, *capabilities: str):
        """The permission of holding any one of `capabilities`."""
        return type(f"Can_{'_or_'.join(capabilities)}", (cls,), {"capabilities": capabilities})

    def has_permission(self, request, view):
        return any(has_capability(request.user, capability) for capability in self.capabilities)
