"""Who may read and record a patient's constitution: the patients' one rule (patients.permissions:
`view_patients` and the patient's institution in the reader's subtree), and `manage_patients` to
record an assisted questionnaire or invite the patient. No second scoping rule here."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.permissions import has_capability
from patients.models import Patient
from patients.permissions import can_see_patient


def can_record_for(user, patient: Patient) -> bool:
    return has_capability(user, "manage_patients") and can_see_patient(user, patient)


def ensure_can_record_for(user, patient: Patient) -> None:
    """PermissionDenied unless `user` may record for (or invite) `patient`."""
    if not can_record_for(user, patient):
        raise PermissionDenied(_("You may not record a constitution assessment for this patient."))
