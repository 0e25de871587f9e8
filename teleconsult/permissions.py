"""Who sees and moves a remote consult, on top of the one role table (accounts.roles): the
capability `request_remote_consults` at the clinic that asked, and `answer_remote_consults` for
the expert it is routed to — by name, or as a clinician of the hospital it is routed to. An
expert sees no other consult, whatever their institution's subtree holds."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.permissions import has_capability

from .models import RemoteConsult
from .workflow import HOLDER, MOVES, REQUESTER, ROUTED_EXPERT


def is_requester(user, consult: RemoteConsult) -> bool:
    """A clinician of the clinic that asked (the village doctor, or a colleague covering)."""
    return has_capability(user, "request_remote_consults") and user.institution_id == consult.institution_id


def is_routed_expert(user, consult: RemoteConsult) -> bool:
    """The named expert, or, with none named, a clinician of the hospital it is routed to."""
    if not has_capability(user, "answer_remote_consults"):
        return False
    if consult.routed_expert_id is not None:
        return consult.routed_expert_id == user.pk
    return user.institution_id == consult.routed_institution_id


def is_holder(user, consult: RemoteConsult) -> bool:
    """The expert who claimed it (and still may answer it)."""
    return consult.claimed_by_id == user.pk and is_routed_expert(user, consult)


PARTIES = {REQUESTER: is_requester, ROUTED_EXPERT: is_routed_expert, HOLDER: is_holder}


def parties_of(user, consult: RemoteConsult) -> set[str]:
    return {party for party, test in PARTIES.items() if test(user, consult)}


def ensure_may_take(user, consult: RemoteConsult, step: str) -> None:
    """Raise PermissionDenied unless `user` is the party the workflow table names for `step`."""
    if not PARTIES[MOVES[step][2]](user, consult):
        raise PermissionDenied(_("You may not do this with this remote consult."))


def may_see_remote_consults(user) -> bool:
    """Does `user` take part in remote consults at all (the pages and the API's reads)?"""
    return has_capability(user, "request_remote_consults") or has_capability(user, "answer_remote_consults")


def remote_consults_visible_to(user) -> QuerySet:
    """The consults of the user's own clinic (as a requester) and those routed to them or, with no
    expert named, to their institution (as an expert)."""
    consults = RemoteConsult.objects.all()
    if not user or not user.is_authenticated or not user.institution_id:
        return consults.none()
    seen = Q(pk__in=[])
    if has_capability(user, "request_remote_consults"):
        seen |= Q(institution_id=user.institution_id)
    if has_capability(user, "answer_remote_consults"):
        seen |= Q(routed_expert=user)
        seen |= Q(routed_expert__isnull=True, routed_institution_id=user.institution_id)
    return consults.filter(seen)
