"""Who may see a patient: the `view_patients` capability, and the patient's institution inside the
user's subtree (both from accounts.permissions). One rule answers "may I?" and "which ones?"."""

from django.db.models import QuerySet

from accounts.permissions import can_see_institution, has_capability, scope_to_institutions

from .models import Patient


def patients_visible_to(user) -> QuerySet:
    """Patients registered in the user's institution subtree; none without `view_patients`."""
    if not has_capability(user, "view_patients"):
        return Patient.objects.none()
    return scope_to_institutions(Patient.objects.select_related("institution"), user)


def can_see_patient(user, patient: Patient) -> bool:
    """The same rule as patients_visible_to, for one patient already loaded (the submit for an
    existing patient asks it)."""
    return has_capability(user, "view_patients") and can_see_institution(user, patient.institution_id)
