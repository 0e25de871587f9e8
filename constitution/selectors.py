"""Reads of assessments and invitations; scoped by the patients' rule (patients.permissions)."""

from django.utils import timezone

from patients.models import Patient
from patients.permissions import can_see_patient

from .models import ConstitutionAssessment, ConstitutionInvite

VALID, EXPIRED, USED = "valid", "expired", "used"


def assessments_of(user, patient: Patient):
    """The patient's assessments, newest first; none for a user who may not see the patient."""
    if not can_see_patient(user, patient):
        return ConstitutionAssessment.objects.none()
    return ConstitutionAssessment.objects.filter(patient=patient).select_related("recorded_by")


def latest_assessment(patient: Patient) -> ConstitutionAssessment | None:
    """The newest assessment of a patient the caller has already been allowed to see."""
    return ConstitutionAssessment.objects.filter(patient=patient).first()


def invite_lookup(token: str) -> tuple[ConstitutionInvite | None, str]:
    """(The invitation for `token` with its patient, its state: VALID, EXPIRED or USED); (None, "")
    for a token that does not exist."""
    if not token or len(token) > 64:
        return None, ""
    invite = ConstitutionInvite.objects.select_related("patient").filter(token=token).first()
    if invite is None:
        return None, ""
    if invite.used_at is not None:
        return invite, USED
    if invite.expires_at <= timezone.now():
        return invite, EXPIRED
    return invite, VALID
