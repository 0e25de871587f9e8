from django.db.models import Q, QuerySet

from .permissions import patients_visible_to

__all__ = ["patient_search", "patients_matching", "patients_visible_to"]


def patient_search(user, query: str = "") -> QuerySet:
    """The patients the user may see, matching `query` if given (see `patients_matching`)."""
    return patients_matching(patients_visible_to(user), query).prefetch_related("allergies")


def patients_matching(patients: QuerySet, query: str) -> QuerySet:
    """Those of `patients` found by name, mobile or ID number; all of them for a blank query."""
    query = query.strip()
    if not query:
        return patients
    return patients.filter(
        Q(name__contains=query) | Q(mobile__startswith=query) | Q(id_number__startswith=query.upper())
    )
