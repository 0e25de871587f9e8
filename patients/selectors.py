from django.db.models import Q, QuerySet

from .permissions import patients_visible_to

__all__ = ["patient_search", "patients_visible_to"]


def patient_search(user, query: str = "") -> QuerySet:
    """Find by name, mobile or ID number."""
    patients = patients_visible_to(user)
    query = query.strip()
    if query:
        patients = patients.filter(
            Q(name__contains=query) | Q(mobile__startswith=query) | Q(id_number__startswith=query.upper())
        )
    return patients.prefetch_related("allergies")
