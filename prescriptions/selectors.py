from django.db.models import Q, QuerySet

from accounts.permissions import has_capability, scope_to_institutions

from .models import Patient


def patients_visible_to(user) -> QuerySet:
    """Patients registered in the user's institution subtree; none without `view_patients`."""
    if not has_capability(user, "view_patients"):
        return Patient.objects.none()
    return scope_to_institutions(Patient.objects.select_related("institution"), user)


def patient_search(user, query: str = "") -> QuerySet:
    """Find by name, mobile or ID number."""
    patients = patients_visible_to(user)
    query = query.strip()
    if query:
        patients = patients.filter(
            Q(name__contains=query) | Q(mobile__startswith=query) | Q(id_number__startswith=query.upper())
        )
    return patients.prefetch_related("allergies")
