"""A remote consult's states and the moves between them, as one table of data (no ORM): who makes
each move (the village doctor who asked, or the expert who holds the consult) and from which
states. teleconsult.services makes every move through it; the pages and the API ask it which
buttons to show."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    OPEN = "open", _("Waiting for an expert")
    CLAIMED = "claimed", _("With an expert")
    ASKING = "asking", _("Question for the village doctor")
    PRESCRIBED = "prescribed", _("Prescribed")
    ADVISED = "advised", _("Answered without a prescription")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Step(models.TextChoices):
    """What each trace event of a consult records."""

    REQUESTED = "requested", _("Requested")
    CLAIMED = "claimed", _("Claimed by an expert")
    RELEASED = "released", _("Released by the expert")
    ASKED = "asked", _("Question from the expert")
    ANSWERED = "answered", _("Answer from the village doctor")
    PHOTO_ADDED = "photo_added", _("Photo added")
    PRESCRIBED = "prescribed", _("Prescribed")
    ADVISED = "advised", _("Answered without a prescription")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Who makes a move: the clinician who asked (or a colleague at the same clinic), or the expert
# who claimed the consult; the claim itself is made by an expert it is routed to.
REQUESTER, HOLDER, ROUTED_EXPERT = "requester", "holder", "routed_expert"

OPEN_STATES = frozenset({Status.OPEN, Status.CLAIMED, Status.ASKING})
CLOSED_STATES = frozenset({Status.PRESCRIBED, Status.ADVISED, Status.WITHDRAWN})

# step -> (states it is made from, the state it leaves, who makes it)
MOVES: dict[str, tuple[frozenset, str | None, str]] = {
    Step.CLAIMED: (frozenset({Status.OPEN}), Status.CLAIMED, ROUTED_EXPERT),
    Step.RELEASED: (frozenset({Status.CLAIMED, Status.ASKING}), Status.OPEN, HOLDER),
    Step.ASKED: (frozenset({Status.CLAIMED}), Status.ASKING, HOLDER),
    Step.ANSWERED: (frozenset({Status.ASKING}), Status.CLAIMED, REQUESTER),
    # A photo the expert asked for, or one taken later: the state stays as it is.
    Step.PHOTO_ADDED: (OPEN_STATES, None, REQUESTER),
    Step.PRESCRIBED: (frozenset({Status.CLAIMED, Status.ASKING}), Status.PRESCRIBED, HOLDER),
    Step.ADVISED: (frozenset({Status.CLAIMED, Status.ASKING}), Status.ADVISED, HOLDER),
    Step.WITHDRAWN: (OPEN_STATES, Status.WITHDRAWN, REQUESTER),
}


def moves_from(status: str, party: str) -> list[str]:
    """The steps `party` may take from `status`, in the table's order."""
    return [step for step, (sources, _to, who) in MOVES.items() if status in sources and who == party]
