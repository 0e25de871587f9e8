"""The prescription pipeline as data: the stages and every allowed move with the role that makes it.

Pure Python, no ORM. Services, pages, the API, the tests and the README read this table; nothing
else decides whether a move is allowed.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

SYSTEM = "system"  # moves made by background work, not by a person


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
    roles: frozenset
    decoction: str | None = None  # only for prescriptions decocted this way
    delivery: str | None = None  # only for prescriptions delivered this way


def _move(to, *roles, decoction=None, delivery=None):
    return Move(to, frozenset(roles), decoction, delivery)


S, R = Stage, Role
TRANSITIONS: dict[str, tuple[Move, ...]] = {
    S.SUBMITTED: (_move(S.AI_AUDITED, SYSTEM), _move(S.CANCELLED, R.CLINICIAN)),
    S.AI_AUDITED: (_move(S.APPROVED, R.PHARMACIST), _move(S.REJECTED, R.PHARMACIST), _move(S.CANCELLED, R.CLINICIAN)),
    S.APPROVED: (_move(S.DISPENSED, R.DISPENSER), _move(S.CANCELLED, R.CLINICIAN)),
    S.DISPENSED: (_move(S.RECHECKED, R.PHARMACIST), _move(S.RECHECK_FAILED, R.PHARMACIST)),
    S.RECHECK_FAILED: (_move(S.DISPENSED, R.DISPENSER),),
    S.RECHECKED: (
        _move(S.SOAKING, R.DECOCTION_OPERATOR, decoction=Decoction.CENTER),
        _move(S.PACKAGED, R.DECOCTION_OPERATOR, R.DISPENSER, decoction=Decoction.SELF),
    ),
    S.SOAKING: (_move(S.DECOCTING, R.DECOCTION_OPERATOR),),
    S.DECOCTING: (_move(S.PACKAGED, R.DECOCTION_OPERATOR),),
    S.PACKAGED: (
        _move(S.SHIPPED, R.COURIER, delivery=DeliveryMode.ADDRESS),
        _move(S.PICKED_UP, R.DISPENSER, R.CLINICIAN, delivery=DeliveryMode.PICKUP),
    ),
    S.SHIPPED: (_move(S.DELIVERED, R.COURIER),),
    S.REJECTED: (),
    S.CANCELLED: (),
    S.DELIVERED: (),
    S.PICKED_UP: (),
}

# The move that brings a new prescription (or the next version of a rejected one) into the pipeline.
CREATE = _move(S.SUBMITTED, R.CLINICIAN)

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
