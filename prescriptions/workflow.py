"""The prescription pipeline as data: the stages and every allowed move with the capability that
makes it (who holds a capability is accounts.roles.CAPABILITIES, the one role table).

Pure Python, no ORM. Services, pages, the API, the tests and the README read this table; nothing
else decides whether a move is allowed (prescriptions.permissions.can_make_move asks it).
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

# Moves made by background work: a marker, not a capability; no person holds it, not even a superuser.
SYSTEM = "system"


class Stage(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    AI_AUDITED = "ai_audited", _("AI audited")
    APPROVED = "approved", _("Approved by pharmacist")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    DISPENSED = "dispensed", _("Dispensed")
    RECHECK_FAILED = "recheck_failed", _("Re-check failed")
    RECHECKED = "rechecked", _("Re-checked")
    SOAKING = "soaking", _("Soaking")
    DECOCTING = "decocting", _("Decocting")
    PACKAGED = "packaged", _("Packaged")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    PICKED_UP = "picked_up", _("Picked up")


class Decoction(models.TextChoices):
    CENTER = "center", _("Decocted by the centre")
    SELF = "self", _("Decocted by the patient")


class DeliveryMode(models.TextChoices):
    ADDRESS = "address", _("Deliver to an address")
    PICKUP = "pickup", _("Pick up at the clinic")


@dataclass(frozen=True)
class Move:
    to: str
    capabilities: frozenset  # any one of them lets a person make the move; SYSTEM: background work
    decoction: str | None = None  # only for prescriptions decocted this way
    delivery: str | None = None  # only for prescriptions delivered this way


def _move(to, *capabilities, decoction=None, delivery=None):
    return Move(to, frozenset(capabilities), decoction, delivery)


S = Stage
TRANSITIONS: dict[str, tuple[Move, ...]] = {
    S.SUBMITTED: (_move(S.AI_AUDITED, SYSTEM), _move(S.CANCELLED, "prescribe")),
    S.AI_AUDITED: (_move(S.APPROVED, "final_audit"), _move(S.REJECTED, "final_audit"), _move(S.CANCELLED, "prescribe")),
    S.APPROVED: (_move(S.DISPENSED, "dispense"), _move(S.CANCELLED, "prescribe")),
    S.DISPENSED: (_move(S.RECHECKED, "recheck"), _move(S.RECHECK_FAILED, "recheck")),
    S.RECHECK_FAILED: (_move(S.DISPENSED, "dispense"),),
    S.RECHECKED: (
        _move(S.SOAKING, "decoct", decoction=Decoction.CENTER),
        # packed as herbs, at the centre or at the dispensing bench
        _move(S.PACKAGED, "decoct", "dispense", decoction=Decoction.SELF),
    ),
    S.SOAKING: (_move(S.DECOCTING, "decoct"),),
    S.DECOCTING: (_move(S.PACKAGED, "decoct"),),
    S.PACKAGED: (
        _move(S.SHIPPED, "deliver", delivery=DeliveryMode.ADDRESS),
        _move(S.PICKED_UP, "hand_over", delivery=DeliveryMode.PICKUP),
    ),
    S.SHIPPED: (_move(S.DELIVERED, "deliver"),),
    S.REJECTED: (),
    S.CANCELLED: (),
    S.DELIVERED: (),
    S.PICKED_UP: (),
}

# The move that brings a new prescription (or the next version of a rejected one) into the pipeline.
CREATE = _move(S.SUBMITTED, "prescribe")

TERMINAL = frozenset(stage for stage, moves in TRANSITIONS.items() if not moves)
# Stages in the order a patient sees them on the tracking page (self-decoction skips two).
TIMELINE = (
    S.SUBMITTED,
    S.AI_AUDITED,
    S.APPROVED,
    S.DISPENSED,
    S.RECHECKED,
    S.SOAKING,
    S.DECOCTING,
    S.PACKAGED,
    S.SHIPPED,
    S.DELIVERED,
)


def find_move(current: str, to: str, *, decoction: str, delivery: str) -> Move | None:
    """The move from `current` to `to` for a prescription decocted and delivered this way."""
    for move in TRANSITIONS.get(current, ()):
        if move.to == to and move.decoction in (None, decoction) and move.delivery in (None, delivery):
            return move
    return None


def next_stages(current: str, *, decoction: str, delivery: str) -> list[str]:
    return [
        move.to
        for move in TRANSITIONS.get(current, ())
        if move.decoction in (None, decoction) and move.delivery in (None, delivery)
    ]
