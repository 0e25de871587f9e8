"""Reads behind the home page: the prescriptions waiting for their prescriber, and, for
administrators, the prescriptions stuck at a stage now."""

from django.db.models import F

from prescriptions.models import StuckFlag
from prescriptions.selectors import prescriptions_visible_to
from prescriptions.workflow import Stage


def stuck_flags(institution_ids):
    """The unresolved stuck flags of prescriptions still at the flagged stage, of the given
    institutions (None: all), the longest waiting first. Read live: beat raises a flag when a
    prescription passes its stage's time limit and resolves it once it moved on; a flag whose
    prescription has moved since the last beat is left out here already."""
    flags = StuckFlag.objects.filter(resolved_at__isnull=True, prescription__status=F("stage"))
    if institution_ids is not None:
        flags = flags.filter(prescription__institution__in=institution_ids)
    return flags.select_related("prescription", "prescription__institution").order_by("since", "pk")


def prescriptions_waiting_for(user) -> list:
    """The prescriptions waiting for their prescriber: the user's own rejected (returned by the
    pharmacist) prescriptions not yet revised into a new version, among those they may see, oldest
    first, each with the pharmacist's decision (its reasons). Two queries."""
    return list(
        prescriptions_visible_to(user)
        .filter(prescriber=user, status=Stage.REJECTED, revision__isnull=True)
        .select_related("decision", "consult")
        .order_by("updated_at", "pk")
    )
