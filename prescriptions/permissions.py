"""May this actor make this move? Answered from the workflow table (the capability each move
names) and the one role table (accounts.roles.CAPABILITIES), through accounts' has_capability.

The capabilities the moves name are the pipeline's clinical work (accounts.roles.ROLE_BOUND): a
superuser makes a move only with a role that has its capability, like anyone else. A SYSTEM move
is made only by background work (actor None), never by a person, superuser or not. Object scope (which
pharmacy, which run, which audit) is each stage app's own permissions.py, on top of this."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.permissions import has_capability

from .exceptions import InvalidTransition
from .workflow import SYSTEM, Move, find_move


def can_make_move(actor, move: Move) -> bool:
    """True when `actor` holds one of the capabilities the move names; for `actor` None (the
    system), when the move is background work's."""
    if actor is None:
        return SYSTEM in move.capabilities
    return any(has_capability(actor, capability) for capability in move.capabilities if capability != SYSTEM)


def ensure_can_make_move(actor, move: Move) -> None:
    """Raise PermissionDenied unless can_make_move(actor, move)."""
    if not can_make_move(actor, move):
        raise PermissionDenied(_("Your role cannot record this step."))


def ensure_can_record_step(actor, prescription, stage: str) -> Move:
    """The move from the prescription's stage to `stage`, if `actor` may make it. Raises
    InvalidTransition when the table has no such move for this prescription, PermissionDenied
    when the actor may not make it."""
    move = find_move(prescription.status, stage, decoction=prescription.decoction, delivery=prescription.delivery)
    if move is None:
        raise InvalidTransition(prescription.status, stage)
    ensure_can_make_move(actor, move)
    return move
