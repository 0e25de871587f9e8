from django.db.models import Q, QuerySet

from accounts.models import Institution
from accounts.permissions import has_capability, scope_to_institutions

from .models import Prescription


def prescriptions_visible_to(user) -> QuerySet:
    """Prescriptions of the institutions in the user's subtree (clinicians, pharmacists and
    administrators); stage staff reach prescriptions through their own station queues."""
    if not (has_capability(user, "prescribe") or has_capability(user, "view_patients")):
        return Prescription.objects.none()
    return scope_to_institutions(Prescription.objects.select_related("patient", "prescriber", "institution"), user)


def prescription_search(user, *, query="") -> QuerySet:
    """The prescriptions the user may see, matching `query` if given; the list filters (status,
    patient, dates) narrow it in `prescriptions.filters.PrescriptionFilter`."""
    return prescriptions_matching(prescriptions_visible_to(user), query)


def prescriptions_matching(prescriptions: QuerySet, query: str) -> QuerySet:
    """Those of `prescriptions` whose number starts with `query`, whose patient's name contains it
    or whose patient's mobile starts with it; all of them for a blank query."""
    query = query.strip()
    if not query:
        return prescriptions
    return prescriptions.filter(
        Q(number__startswith=query) | Q(patient__name__contains=query) | Q(patient__mobile__startswith=query)
    )


def prescription_detail(user, pk: int):
    """The prescription with its items, consult, events and audit, if the user may see it."""
    return (
        prescriptions_visible_to(user)
        .select_related("consult", "previous")
        .prefetch_related("items", "events", "patient__allergies")
        .get(pk=pk)
    )


def prescription_versions(prescription) -> list:
    """Every version of the prescription's number, oldest first."""
    return list(
        Prescription.objects.filter(number=prescription.number).order_by("version").only("pk", "version", "status")
    )


STATION_CAPABILITIES = ("dispense", "recheck", "decoct", "deliver", "final_audit")


def prescriptions_for_stations(user) -> QuerySet:
    """Stations serve the whole county: staff with a station capability reach every prescription
    of their county tree (the subtree of the top institution above them); each step then checks
    the station's own rules (role, institution, order)."""
    if not user.is_authenticated or not any(has_capability(user, cap) for cap in STATION_CAPABILITIES):
        return Prescription.objects.none()
    if user.is_superuser:
        return Prescription.objects.all()
    if not user.institution_id:
        return Prescription.objects.none()
    root = user.institution
    while root.parent_id:
        root = root.parent
    return Prescription.objects.filter(institution_id__in=Institution.objects.subtree_ids(root.pk))
