"""Reads of remote consults, scoped to who asks (teleconsult.permissions)."""

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, QuerySet, Value, When

from accounts.models import Institution
from accounts.permissions import has_capability, institution_tree_for
from accounts.roles import CAPABILITIES

from .models import RemoteConsult
from .permissions import remote_consults_visible_to
from .workflow import Status


def remote_consults_for(user) -> QuerySet:
    """The consults `user` sees, with the people and places each shows; the open ones waiting for
    an expert first, then those with an expert or a question, then the closed, newest first."""
    waiting = Case(
        When(status=Status.OPEN, then=Value(0)),
        When(status__in=[Status.CLAIMED, Status.ASKING], then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        remote_consults_visible_to(user)
        .select_related(
            "patient",
            "institution",
            "requested_by",
            "routed_institution",
            "routed_expert",
            "claimed_by",
            "prescription",
        )
        .annotate(waiting=waiting)
        .order_by("waiting", "-created_at", "-pk")
    )


def remote_consult_for(user, pk) -> RemoteConsult | None:
    """One consult `user` sees, or None."""
    return remote_consults_for(user).filter(pk=pk).first()


def hospitals_above(user) -> list[Institution]:
    """The active institutions above the user's own, the lead hospital first: where a request may
    be routed."""
    if not user.institution_id:
        return []
    tree = institution_tree_for(user)
    ids = [pk for pk in reversed(tree.ancestor_ids(user.institution_id)) if tree.rows[pk][3]]
    return [tree.institution(pk) for pk in ids]


def experts_above(user) -> QuerySet:
    """The active clinicians who answer remote consults at an institution above the user's own:
    whom a request may name."""
    ids = [institution.pk for institution in hospitals_above(user)]
    roles = CAPABILITIES["answer_remote_consults"]
    return (
        get_user_model()
        .objects.filter(is_active=True, institution_id__in=ids, groups__name__in=roles)
        .distinct()
        .select_related("institution")
        .order_by("institution__name", "name", "username")
    )


def may_request(user) -> bool:
    return has_capability(user, "request_remote_consults") and bool(hospitals_above(user))
