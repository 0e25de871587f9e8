"""The reads behind the FHIR API, each scoped to the reader with the platform's own selectors: a
prescription through prescriptions_visible_to / prescription_detail, a patient through
patients_visible_to / can_see_patient, staff and institutions through the institution subtree
(accounts.permissions). Nothing here decides a second scope."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import Institution, User
from accounts.permissions import institution_tree_for, institutions_visible_to, scope_to_institutions
from audit.models import AuditDecision, AuditRun
from audit.selectors import audit_outcome
from catalogue.models import Herb
from decoction.models import DispensingRecord, StationPhoto
from decoction.selectors import pharmacy_for
from patients.models import Patient
from patients.permissions import can_see_patient, patients_visible_to
from prescriptions.models import Prescription, PrescriptionItem, TraceEvent
from prescriptions.selectors import prescription_detail, prescriptions_visible_to
from prescriptions.workflow import Stage


@dataclass
class RequestLines:
    """One prescription's herb lines with what their MedicationRequests name: the previous
    version's line of each herb (priorPrescription), the pharmacy that dispenses it, and whether the
    reader may see the patient's record in full (can_see_patient) or only the name the prescription
    shows."""

    prescription: Prescription
    items: list
    previous_lines: dict = field(default_factory=dict)  # herb id -> position in the previous version
    pharmacy: Institution | None = None
    patient_in_full: bool = False


@dataclass
class Dispensing:
    """A dispensing record with its photo and the re-check that judged it (None: not yet)."""

    record: DispensingRecord
    photo: StationPhoto | None
    check: TraceEvent | None


@dataclass
class PrescriptionRecord:
    """Everything the FHIR API says about one prescription version."""

    lines: RequestLines
    events: list
    run: AuditRun | None
    decision: AuditDecision | None
    dispensings: list
    users: dict  # id -> User: the prescriber and everyone who acted on it
    institutions: dict  # id -> Institution: every organization its resources name

    @property
    def prescription(self) -> Prescription:
        return self.lines.prescription


def prescription_record(user, pk: int) -> PrescriptionRecord:
    """The prescription `pk` with its lines, trace, audit and dispensing, if the user may see it
    (prescription_detail); raises Prescription.DoesNotExist otherwise."""
    prescription = prescription_detail(user, pk)
    lines = _request_lines(user, [prescription], _items_of([prescription.pk]))[0]
    events = sorted(prescription.events.all(), key=lambda event: (event.seq, event.pk))
    run, decision = audit_outcome(prescription)
    dispensings = _dispensings(prescription, events)
    user_ids = {prescription.prescriber_id, *(event.actor_id for event in events if event.actor_id)}
    user_ids |= {d.record.dispenser_id for d in dispensings} | ({decision.pharmacist_id} if decision else set())
    users = {person.pk: person for person in User.objects.filter(pk__in=user_ids)}
    institution_ids = {prescription.institution_id, *(person.institution_id for person in users.values())}
    institution_ids |= {d.record.pharmacy_id for d in dispensings}
    institution_ids |= {lines.pharmacy.pk} if lines.pharmacy else set()
    institution_ids |= {prescription.patient.institution_id} if lines.patient_in_full else set()
    institutions = {place.pk: place for place in Institution.objects.filter(pk__in=institution_ids - {None})}
    return PrescriptionRecord(lines, events, run, decision, dispensings, users, institutions)


def _items_of(prescription_ids) -> list:
    return list(
        PrescriptionItem.objects.filter(prescription_id__in=prescription_ids)
        .select_related("herb")
        .order_by("prescription_id", "position")
    )


def _request_lines(user, prescriptions: list, items: list) -> list[RequestLines]:
    """RequestLines of each of `prescriptions` from their `items`: three more queries at most
    (the previous versions' lines, the dispensing pharmacies, the institution tree) for any number."""
    by_prescription = {
        found.pk: RequestLines(found, [], patient_in_full=can_see_patient(user, found.patient))
        for found in prescriptions
    }
    for item in items:
        by_prescription[item.prescription_id].items.append(item)
    previous = {p.previous_id: p.pk for p in prescriptions if p.previous_id}
    if previous:
        earlier = PrescriptionItem.objects.filter(prescription_id__in=previous).values_list(
            "prescription_id", "herb_id", "position"
        )
        for prescription_id, herb_id, position in earlier:
            by_prescription[previous[prescription_id]].previous_lines.setdefault(herb_id, position)
    dispensed = dict(
        DispensingRecord.objects.filter(prescription_id__in=by_prescription)
        .order_by("created_at", "pk")
        .values_list("prescription_id", "pharmacy_id")
    )  # the latest record of each prescription wins
    tree = institution_tree_for(user)
    for lines in by_prescription.values():
        lines.pharmacy = _pharmacy(lines.prescription, dispensed.get(lines.prescription.pk), tree)
    return list(by_prescription.values())


def _pharmacy(prescription: Prescription, dispensed_at: int | None, tree) -> Institution | None:
    """The pharmacy that dispensed the prescription, else the one that serves its county."""
    if dispensed_at is not None and dispensed_at in tree.rows:
        return tree.institution(dispensed_at)
    try:
        return pharmacy_for(prescription, tree)
    except ValidationError:  # no shared pharmacy configured: the lines name none
        return None


def _dispensings(prescription: Prescription, events: list) -> list[Dispensing]:
    """The prescription's dispensing records, oldest first, each with the photo its `dispensed`
    event names and the re-check event that names it."""
    records = list(DispensingRecord.objects.filter(prescription=prescription).order_by("created_at", "pk"))
    photo_of = {event.data.get("record"): event.data.get("photo") for event in events if event.stage == Stage.DISPENSED}
    photos = StationPhoto.objects.in_bulk([pk for pk in photo_of.values() if isinstance(pk, int)])
    checks = {
        event.data.get("dispensing"): event
        for event in events
        if event.stage in (Stage.RECHECKED, Stage.RECHECK_FAILED)
    }
    return [Dispensing(record, photos.get(photo_of.get(record.pk)), checks.get(record.pk)) for record in records]


@dataclass(frozen=True)
class LineFilters:
    """What a MedicationRequest search narrows the reader's prescriptions to (interop.fhir.search)."""

    patient: int | None = None
    stages: tuple | None = None  # None: any stage
    number: str | None = None  # the group identifier's value
    updated: tuple = ()  # (lookup, datetime) pairs: ("gte", t), ("lt", t)


def request_lines_page(user, filters: LineFilters, *, offset: int, count: int) -> tuple[int, list]:
    """(how many herb lines match, [(RequestLines, item)] for the page from `offset`): the lines
    of the prescriptions the reader sees (prescriptions_visible_to), latest updated first."""
    prescriptions = _filtered(prescriptions_visible_to(user), filters)
    items = PrescriptionItem.objects.filter(prescription__in=prescriptions.values("pk")).order_by(
        "-prescription__updated_at", "-prescription_id", "position"
    )
    total = items.count()
    if count == 0 or offset >= total:
        return total, []
    page = list(
        items.select_related(
            "herb",
            "prescription__patient",
            "prescription__prescriber",
            "prescription__institution",
            "prescription__consult",
        )[offset : offset + count]
    )
    parents = {item.prescription_id: item.prescription for item in page}
    lines = {found.prescription.pk: found for found in _request_lines(user, list(parents.values()), page)}
    return total, [(lines[item.prescription_id], item) for item in page]


def _filtered(prescriptions: QuerySet, filters: LineFilters) -> QuerySet:
    if filters.patient is not None:
        prescriptions = prescriptions.filter(patient_id=filters.patient)
    if filters.stages is not None:
        prescriptions = prescriptions.filter(status__in=filters.stages)
    if filters.number is not None:
        prescriptions = prescriptions.filter(number=filters.number)
    for lookup, moment in filters.updated:
        prescriptions = prescriptions.filter(**{f"updated_at__{lookup}": moment})
    return prescriptions


def herb_codes() -> list[tuple[int, str]]:
    """(id, name) of every herb of the catalogue, active or not: the herb CodeSystem's concepts
    (a line written years ago names a herb that may since have been retired)."""
    return list(Herb.objects.order_by("pk").values_list("pk", "name"))


def patient_for(user, pk: int) -> Patient:
    """The patient `pk` if the user may see them (patients_visible_to); else DoesNotExist."""
    return patients_visible_to(user).get(pk=pk)


def practitioner_for(user, pk: int) -> User:
    """A staff member of the user's institution subtree; else DoesNotExist. Staff of other
    institutions appear only inside the $everything of a prescription they acted on."""
    return scope_to_institutions(User.objects.all(), user).get(pk=pk)


def organization_for(user, pk: int) -> Institution:
    """An institution of the user's subtree (institutions_visible_to); else DoesNotExist."""
    return institutions_visible_to(user).get(pk=pk)
