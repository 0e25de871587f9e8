from datetime import timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Institution
from accounts.permissions import has_capability, scope_to_institutions
from patients.models import Patient
from patients.permissions import patients_visible_to

from .models import Prescription, PrescriptionItem
from .workflow import Stage


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


# The cross-prescription check looks this many days back.
CROSS_CHECK_DAYS = 7
INACTIVE_STAGES = (Stage.REJECTED, Stage.CANCELLED)


def patient_active_prescriptions(patient, *, exclude_ids=(), days: int = CROSS_CHECK_DAYS, now=None) -> list:
    """The patient's other active prescriptions (not rejected or cancelled) submitted within the
    last `days` days, at any institution of the county, with their items and herbs; two queries
    (three for a patient with an ID number).
    Deliberately not scoped to who is asking: the safety check needs every prescription the
    patient is taking, and the findings show only their numbers and herbs. A person registered at
    several institutions (patients are unique by ID number per institution) is one person here:
    the prescriptions of every record with the same resident ID number count."""
    since = (now or timezone.now()) - timedelta(days=days)
    # The records' ids first (the ID-number index), so the prescriptions are read by patient id:
    # an OR across the join would keep PostgreSQL from the patient index on every submit.
    records = [patient.pk]
    if patient.id_number:
        records += (
            Patient.objects.filter(id_number=patient.id_number).exclude(pk=patient.pk).values_list("pk", flat=True)
        )
    items = PrescriptionItem.objects.select_related("herb").only(
        "prescription_id", "position", "written_name", "grams", "instruction", "herb__name"
    )
    return list(
        Prescription.objects.filter(patient_id__in=records, created_at__gte=since)
        .exclude(status__in=INACTIVE_STAGES)
        .exclude(pk__in=[pk for pk in exclude_ids if pk])
        .only("pk", "number", "version", "doses", "created_at")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("created_at", "pk")
    )


def herb_use_by_name() -> dict[str, int]:
    """{herb name: how many prescription rows of the county name it}: the suggestions' ranking."""
    rows = PrescriptionItem.objects.values("herb__name").annotate(uses=Count("id")).order_by()
    return {row["herb__name"]: row["uses"] for row in rows}


def patient_recent_prescriptions(user, patient, *, limit: int = 5) -> list:
    """The patient's latest prescriptions the user may see (prescriptions_visible_to), newest first,
    with their consult and herbs, for the editor's side panel: three queries."""
    return list(
        prescriptions_visible_to(user)
        .filter(patient=patient)
        .select_related("consult")
        .prefetch_related("items")
        .order_by("-created_at", "-pk")[:limit]
    )


def patients_recently_prescribed_by(user, *, limit: int = 8) -> list:
    """The patients the user last prescribed for, most recent first, among those they may still see
    (patients_visible_to): the editor's patient choice before any search."""
    recent = prescriptions_visible_to(user).filter(prescriber=user).order_by("-created_at", "-pk")
    ids = list(dict.fromkeys(recent.values_list("patient_id", flat=True)[: limit * 5]))[:limit]
    found = {p.pk: p for p in patients_visible_to(user).filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]
