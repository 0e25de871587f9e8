"""Who may edit the schedule and who reads it: the capability `manage_schedule` of the one role
table (accounts.roles.CAPABILITIES) within the administrator's subtree, and the subtree scope of
accounts.permissions for reading."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.permissions import can_see_institution, has_capability, institution_ids_visible_to

from .models import ClinicSession


def can_manage_sessions_at(actor, institution_id: int | None) -> bool:
    """An administrator (`manage_schedule`) whose subtree holds the institution."""
    return has_capability(actor, "manage_schedule") and can_see_institution(actor, institution_id)


def ensure_can_manage_sessions_at(actor, institution_id: int | None) -> None:
    """Raise PermissionDenied unless can_manage_sessions_at."""
    if not can_manage_sessions_at(actor, institution_id):
        raise PermissionDenied(_("You may not change the schedule of this health centre."))


def sessions_visible_to(user) -> QuerySet:
    """The sessions of the user's subtree, and the ones the user sits as the expert."""
    queryset = ClinicSession.objects.all()
    if not user or not user.is_authenticated:
        return queryset.none()
    ids = institution_ids_visible_to(user)
    if ids is None:
        return queryset
    return queryset.filter(
        Q(institution__in=ids)  # the subtree's centres
        | Q(expert=user)  # one's own sessions elsewhere
    )
