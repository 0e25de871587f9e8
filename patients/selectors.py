from django.db.models import Q, QuerySet

from core.db import Columns, PlainQuery, related_names_sql, split_names

from .models import Patient, Sex
from .permissions import patients_visible_to

__all__ = ["patient_history", "patient_search", "patients_matching", "patients_visible_to"]


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


def patient_history(patient: Patient) -> list[dict]:
    """The changes of a patient the caller has already been allowed to see (loaded through
    patients_visible_to), newest first: when, who, and (field label, old, new) per field."""
    rows = []
    for change in patient.changes.select_related("changed_by"):
        fields = [
            (str(Patient._meta.get_field(key).verbose_name), shown(key, old), shown(key, new))
            for key, (old, new) in change.changes.items()
        ]
        rows.append({"at": change.changed_at, "by": change.changed_by, "fields": fields})
    return rows


def shown(key: str, value: str) -> str:
    return str(Sex(value).label) if key == "sex" and value in Sex.values else value


def _with_allergies_query():
    patient = Columns(Patient, "p")
    allergies = related_names_sql(Patient.allergies, "p.id")
    return f"SELECT {patient}, {allergies} FROM {patient.table} WHERE p.id = %s", [patient]


_WITH_ALLERGIES = PlainQuery(_with_allergies_query)


def patient_with_allergies(pk) -> Patient | None:
    """The patient `pk` (None when there is none), read with the catalogue names of their
    allergies (`allergy_names`) in the same statement, in plain SQL (read on every submit). Not
    scoped: the caller checks who may see it."""
    found = _WITH_ALLERGIES.first([pk])
    if found is None:
        return None
    patient, allergies = found
    patient.allergy_names = split_names(allergies)
    return patient
