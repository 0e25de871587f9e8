from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Institution
from accounts.permissions import (
    has_capability,
    institution_ids_visible_to,
    institution_tree_for,
)
from core.db import Columns, PlainQuery, converter
from patients.models import Patient
from patients.permissions import patients_visible_to

from .models import Prescription, PrescriptionItem
from .workflow import Stage


def prescriptions_visible_to(user) -> QuerySet:
    """Prescriptions of the institutions in the user's subtree (clinicians, pharmacists and
    administrators); stage staff reach prescriptions through their own station queues."""
    ids = _visible_institution_ids(user)
    prescriptions = Prescription.objects.select_related("patient", "prescriber", "institution")
    return prescriptions if ids is None else prescriptions.filter(institution_id__in=ids)


def _visible_institution_ids(user) -> set[int] | None:
    """The institutions whose prescriptions prescriptions_visible_to gives (None: all)."""
    if not (has_capability(user, "prescribe") or has_capability(user, "view_patients")):
        return set()
    return institution_ids_visible_to(user)


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
    ids = _station_institution_ids(user)
    return Prescription.objects.all() if ids is None else Prescription.objects.filter(institution_id__in=ids)


def _station_institution_ids(user) -> set[int] | None:
    """The institutions whose prescriptions prescriptions_for_stations gives (None: all)."""
    if not user.is_authenticated or not any(has_capability(user, cap) for cap in STATION_CAPABILITIES):
        return set()
    if user.is_superuser:
        return None
    if not user.institution_id:
        return set()
    tree = institution_tree_for(user)
    return tree.subtree_ids(tree.root_of(user.institution_id))


def _for_steps_query():
    found, patient, place = columns = [Columns(Prescription, "p"), Columns(Patient, "pt"), Columns(Institution, "i")]
    return (
        f"SELECT {found}, {patient}, {place} FROM {found.table} JOIN {patient.table} ON pt.id = p.patient_id"
        f" JOIN {place.table} ON i.id = p.institution_id WHERE p.id = %s",
        columns,
    )


_FOR_STEPS = PlainQuery(_for_steps_query)


def prescription_for_steps(user, pk) -> Prescription | None:
    """The prescription `pk`, with its patient and institution, if the user reaches it through a
    station (prescriptions_for_stations) or sees it (prescriptions_visible_to); else None. One
    statement in plain SQL (read by every station step), whichever scope answers."""
    found = _FOR_STEPS.first([pk])
    if found is None:
        return None
    prescription, prescription.patient, prescription.institution = found
    scopes = (_station_institution_ids(user), _visible_institution_ids(user))
    return prescription if any(ids is None or prescription.institution_id in ids for ids in scopes) else None


# The cross-prescription check looks this many days back.
CROSS_CHECK_DAYS = 7
INACTIVE_STAGES = (Stage.REJECTED, Stage.CANCELLED)


class ActiveLine(NamedTuple):
    """A herb line of one of the patient's other active prescriptions."""

    prescription_id: int
    number: str  # the prescription's display number
    doses: int
    herb: str  # as written
    grams: Decimal
    instruction: str


def patient_active_lines(
    patient, *, written_names=None, exclude_ids=(), days: int = CROSS_CHECK_DAYS, now=None
) -> list[ActiveLine]:
    """The herb lines of the patient's other active prescriptions (not rejected or cancelled)
    submitted within the last `days` days, at any institution of the county, in the order they
    were written; only the lines written as one of `written_names` when it is given (the
    cross-prescription rules need no others: rules.cross.relevant_names). One query.
    Deliberately not scoped to who is asking: the safety check needs every prescription the
    patient is taking, and the findings show only their numbers and herbs. A person registered at
    several institutions (patients are unique by ID number per institution) is one person here:
    the prescriptions of every record with the same resident ID number count."""
    if written_names is not None and not written_names:
        return []
    since = (now or timezone.now()) - timedelta(days=days)
    quote = connection.ops.quote_name
    # The records' ids in a subquery on the ID-number index, so the prescriptions are read by
    # patient id: an OR across the join would keep PostgreSQL from the patient index on every submit.
    if patient.id_number:
        records, params = f"SELECT id FROM {quote(Patient._meta.db_table)} WHERE id_number = %s", [patient.id_number]
    else:
        records, params = "%s", [patient.pk]
    sql = (
        f"SELECT i.prescription_id, p.{quote('number')}, p.{quote('version')}, p.doses, i.written_name, i.grams,"
        f" i.instruction FROM {quote(PrescriptionItem._meta.db_table)} i"
        f" JOIN {quote(Prescription._meta.db_table)} p ON p.id = i.prescription_id"
        f" WHERE p.patient_id IN ({records}) AND p.created_at >= %s AND p.{quote('status')} NOT IN (%s, %s)"
    )
    params += [connection.ops.adapt_datetimefield_value(since), *INACTIVE_STAGES]
    excluded = [pk for pk in exclude_ids if pk]
    if excluded:
        sql += f" AND p.id NOT IN ({', '.join(['%s'] * len(excluded))})"
        params += excluded
    if written_names is not None:
        sql += f" AND i.written_name IN ({', '.join(['%s'] * len(written_names))})"
        params += sorted(written_names)
    with connection.cursor() as cursor:  # plain SQL: read on every submit and precheck
        cursor.execute(f"{sql} ORDER BY p.created_at, p.id, i.{quote('position')}", params)
        rows = cursor.fetchall()
    grams = converter(PrescriptionItem._meta.get_field("grams"))
    return [
        ActiveLine(pk, Prescription.number_shown(number, version), doses, herb, grams(g), instruction)
        for pk, number, version, doses, herb, g, instruction in rows
    ]


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
