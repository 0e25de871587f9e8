"""Who may deliver and hand over medicine: capabilities from the one role table
(accounts.roles.CAPABILITIES, the same ones the workflow's SHIPPED, DELIVERED and PICKED_UP moves
name) plus delivery's own scope: a courier works for a delivery station. Both are clinical work
(accounts.roles.ROLE_BOUND): a superuser delivers or hands over only with a role that has it."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import InstitutionKind
from accounts.permissions import has_capability

from .models import DeliveryRun


def can_deliver(actor) -> bool:
    """A courier of a delivery station."""
    if not has_capability(actor, "deliver") or not actor.institution_id:
        return False
    return actor.institution.kind == InstitutionKind.DELIVERY_STATION


def ensure_courier(actor) -> None:
    """Raise PermissionDenied unless can_deliver(actor)."""
    if not can_deliver(actor):
        raise PermissionDenied(_("Only a courier of a delivery station does this."))


def can_hand_over(actor) -> bool:
    """Hand packaged medicine to a patient with the pickup code (a dispenser or a clinician)."""
    return has_capability(actor, "hand_over")


def ensure_can_hand_over(actor) -> None:
    """Raise PermissionDenied unless can_hand_over(actor)."""
    if not can_hand_over(actor):
        raise PermissionDenied(_("Your role cannot hand out medicine."))


def runs_visible_to(user) -> QuerySet:
    """The runs of the courier's own delivery station; none for anyone else."""
    if not can_deliver(user):
        return DeliveryRun.objects.none()
    return DeliveryRun.objects.filter(station_id=user.institution_id)


def can_see_contact(user, run: DeliveryRun) -> bool:
    """The patient's name, address and mobile: only to the courier of an open run, while it is open."""
    return run.courier_id == user.pk and run.is_open
