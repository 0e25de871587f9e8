"""Submitting, revising and cancelling prescriptions."""

import secrets
from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import can_see_institution, ensure_capability
from accounts.services import password_failed
from catalogue.formulas import formula_label, formulas_for
from core import db
from core.ids import idempotency_key, parse_id
from patients import services as patient_services
from patients.models import Consult, ConsultAttachment
from patients.permissions import can_see_patient
from patients.selectors import patient_with_allergies
from patients.services import patient_create
from rules.services import check_draft, live_snapshot

from ..exceptions import SignatureRefused
from ..models import Prescription, PrescriptionItem, PrescriptionSequence
from ..workflow import Stage
from .checking import draft_for_audit, other_prescriptions, patient_facts
from .drafting import (
    ClinicalFacts,
    Header,
    Line,
    PrescriptionForm,
    check_signature,
    clean_header,
    clean_items,
    price_quote,
)
from .trace import prescription_transition

CONSULT_FIELDS = (
    "mode",
    "chief_complaint",
    "present_illness",
    "tongue",
    "pulse",
    "tcm_disease",
    "tcm_syndrome",
    "western_icd10",
    "western_diagnosis",
    "pregnancy",
    "weight_kg",
)


def next_number(institution, day) -> str:
    """Institution code + date + sequence, unique even when submits race: the counter row is
    incremented and read in one statement, which holds its row lock until commit."""
    table = PrescriptionSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last = last + 1 WHERE institution_id = %s AND day = %s RETURNING last",
            [institution.pk, connection.ops.adapt_datefield_value(day)],
        )
        row = cursor.fetchone()
    if row:
        last = row[0]
    else:
        try:
            with transaction.atomic():
                PrescriptionSequence.objects.create(institution=institution, day=day, last=1)
            last = 1
        except IntegrityError:  # a concurrent first submit of the day created the row
            return next_number(institution, day)
    return f"{institution.code}-{day:%Y%m%d}-{last:04d}"


def prescription_submit(
    *,
    actor,
    patient,
    form: PrescriptionForm,
    previous: Prescription | None = None,
    request=None,
    institution=None,
    then=None,
) -> tuple[Prescription, bool]:
    """Create a prescription (version 1, or the next version of a rejected one) with status
    `submitted`, its trace event, and — after commit — the AI audit. The rule check made here
    (findings, rule version) is stored on the prescription; the audit run keeps it.

    Returns (prescription, created). The same idempotency key from the same prescriber returns
    the first prescription instead of creating a second. Raises ValidationError with field paths
    such as `items[3].grams`, leaving nothing written. `request`, the HTTP request the submit came
    in (none from a command), puts the double signature's password in the sign-in lockout.

    `institution`, when given, is the institution the prescription and its consult belong to
    instead of the prescriber's own: the village clinic of a remote consult, whose patient the
    expert treats (teleconsult.services). It must be in the prescriber's subtree; a revision keeps
    the institution of the version it revises. `then(prescription)`, when given, runs inside the
    submit's transaction once a new prescription is written (not for a repeat of the same
    idempotency key): the caller's own record of the submit, such as a remote consult's step;
    whatever it raises undoes the submit."""
    with wrong_signatures_counted(actor=actor, request=request), transaction.atomic():
        prescription, created = _submit(
            actor=actor, patient=patient, form=form, previous=previous, request=request, institution=institution
        )
        if created and then is not None:
            then(prescription)
        return prescription, created


@contextmanager
def wrong_signatures_counted(*, actor, request):
    """A wrong double-signature password counts towards the sign-in lockout, once the submit's
    transaction has rolled back: counted inside it, the count would roll back with it."""
    try:
        yield
    except SignatureRefused as refused:
        if refused.wrong_password:
            password_failed(user=actor, request=request)
        raise


def _submit(
    *, actor, patient, form: PrescriptionForm, previous: Prescription | None, request=None, institution=None
) -> tuple[Prescription, bool]:
    """prescription_submit's work, inside the caller's transaction."""
    ensure_capability(actor, "prescribe")
    key = idempotency_key(form.idempotency_key)
    if key:
        existing = Prescription.objects.filter(prescriber=actor, idempotency_key=key).first()
        if existing:
            return existing, False
    _ensure_may_submit(actor=actor, patient=patient, previous=previous, institution=institution)
    if previous is not None:
        institution = previous.institution
    institution = institution or actor.institution
    items, header, facts = _cleaned(form, patient)
    consult_values = {k: header.consult[k] for k in CONSULT_FIELDS if header.consult.get(k) not in (None, "")}
    rules = live_snapshot()
    draft = draft_for_audit(facts=facts, doses=header.doses, items=[item.as_draft() for item in items])
    others = other_prescriptions(patient, previous=previous, rules=rules, herbs=[item.name for item in items])
    check = check_draft(draft, rules, others)
    signature = check_signature(actor=actor, findings=check.findings, signature=form.double_signature, request=request)
    consult = Consult(patient=patient, clinician=actor, institution=institution, **consult_values)
    prescription = _new_prescription(
        actor=actor, patient=patient, consult=consult, previous=previous, form=form, items=items, header=header
    )
    prescription.double_signature = signature
    prescription.precheck_findings = check.findings
    prescription.precheck_rule_version = check.rule_version
    prescription.precheck_duration_ms = check.duration_ms
    prescription.idempotency_key = key
    twin = _save_once(prescription, consult=consult, actor=actor, key=key, previous=previous)
    if twin is not None:
        return twin, False
    if previous is not None and previous.tracking_token:
        # The patient's QR code follows the prescription to its new version.
        token = previous.tracking_token
        Prescription.objects.filter(pk=previous.pk).update(tracking_token=None)
        Prescription.objects.filter(pk=prescription.pk).update(tracking_token=token)
        prescription.tracking_token = token
    prescription_transition(
        prescription=prescription,
        to=Stage.SUBMITTED,
        created=True,
        actor=actor,
        data={"version": prescription.version, "signed": bool(signature)},
        also=[_items_insert(prescription, items)],
    )
    return prescription, True


def _ensure_may_submit(*, actor, patient, previous: Prescription | None, institution=None) -> None:
    if not actor.institution_id:
        raise ValidationError(_("Your account belongs to no institution; ask an administrator."))
    if institution is not None and not can_see_institution(actor, institution.pk):
        raise ValidationError(_("You may not prescribe for this institution."))
    if not can_see_institution(actor, patient.institution_id):
        raise ValidationError({"patient": [_("This patient is registered at an institution you cannot see.")]})
    if previous is not None and previous.status != Stage.REJECTED:
        raise ValidationError(_("Only a rejected prescription can be revised."))
    if previous is not None and Prescription.objects.filter(previous=previous).exists():
        raise ValidationError(_("This prescription has already been revised."))


def _cleaned(form: PrescriptionForm, patient) -> tuple[list[Line], Header, ClinicalFacts]:
    """The herb rows, the header and the patient's clinical facts, with every field's errors
    reported together."""
    errors, items, header, facts = {}, [], None, None
    try:
        items = clean_items(form.items or [])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        header = clean_header(form)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    consult = form.consult if isinstance(form.consult, dict) else {}
    try:
        facts = patient_facts(patient, pregnancy=consult.get("pregnancy"), weight_kg=consult.get("weight_kg"))
    except ValidationError as exc:
        errors.update({path: messages for path, messages in exc.message_dict.items() if path not in errors})
    if errors:
        raise ValidationError(errors)
    return items, header, facts


def _new_prescription(*, actor, patient, consult, previous, form: PrescriptionForm, items: list[Line], header: Header):
    formula_source = ""
    if form.formula:
        formula_id = parse_id(form.formula)
        formula = formulas_for(actor).filter(pk=formula_id).first() if formula_id else None
        if formula is None:
            raise ValidationError({"formula": [_("No such formula.")]})
        formula_source = formula_label(formula)
    quote = price_quote(items=items, doses=header.doses, decoction=header.decoction, delivery=header.delivery)
    return Prescription(
        number=previous.number if previous else "",  # drawn in _save_once, with the insert
        version=previous.version + 1 if previous else 1,
        previous=previous,
        patient=patient,
        consult=consult,
        prescriber=actor,
        institution=consult.institution,
        doses=header.doses,
        usage=header.usage,
        decoction=header.decoction,
        delivery=header.delivery,
        delivery_address=header.delivery_address,
        notes=str(form.notes or "")[:500],
        urgent=bool(form.urgent),
        formula_source=formula_source,
        herb_total=quote["herb_total"],
        decoction_fee=quote["decoction_fee"],
        delivery_fee=quote["delivery_fee"],
        total=quote["total"],
        tracking_token=secrets.token_urlsafe(24),
    )


def _save_once(prescription: Prescription, *, consult: Consult, actor, key: str, previous) -> Prescription | None:
    """Insert the consult, draw the number and insert the prescription; returns the twin instead
    when the same submit raced itself. The twin's consult and number are rolled back with its
    failed insert (one savepoint), so a retry racing its original leaves nothing behind."""

    def insert():
        db.insert(consult)
        prescription.consult = consult
        if previous is None:
            prescription.number = next_number(prescription.institution, timezone.localdate())
        db.insert(prescription)

    try:
        if key or previous is not None:  # only these can collide with a concurrent twin
            with transaction.atomic():
                insert()
        else:
            insert()
    except IntegrityError:
        existing = Prescription.objects.filter(prescriber=actor, idempotency_key=key).first() if key else None
        if existing:  # the same submit raced itself
            return existing
        if previous is not None:  # two revisions of the same version raced
            raise ValidationError(_("This prescription has already been revised.")) from None
        raise
    return None


def _items_insert(prescription: Prescription, items: list[Line]) -> tuple[str, list]:
    """The INSERT of the prescription's herb rows (sent with its first trace event)."""
    return db.insert_rows_sql(
        PrescriptionItem,
        [
            {
                "prescription_id": prescription.pk,
                "position": index + 1,
                "herb_id": item.herb.pk,
                "written_name": item.name,
                "grams": item.grams,
                "instruction": item.instruction,
                "unit_price": item.herb.price_per_g or Decimal(0),
            }
            for index, item in enumerate(items)
        ],
    )


def prescription_submit_for(
    *, actor, patient, form: PrescriptionForm, previous: Prescription | None = None, request=None
):
    """Submit for an existing patient (an id the actor may see) or a new one given inline; a new
    patient and the prescription are written together or not at all. `request` as for
    prescription_submit."""
    with wrong_signatures_counted(actor=actor, request=request), transaction.atomic():
        return _submit_for(actor=actor, patient=patient, form=form, previous=previous, request=request)


def _submit_for(*, actor, patient, form: PrescriptionForm, previous: Prescription | None, request):
    key = idempotency_key(form.idempotency_key)
    if key and actor.is_authenticated:
        existing = Prescription.objects.filter(prescriber=actor, idempotency_key=key).first()
        if existing:
            return existing, False
    if isinstance(patient, dict):
        try:
            patient = patient_create(actor=actor, values=patient)
        except ValidationError as exc:
            raise ValidationError(
                {f"patient.{field}": messages for field, messages in exc.message_dict.items()}
                if hasattr(exc, "error_dict")
                else {"patient": exc.messages}
            ) from None
    else:
        patient = patient_with_allergies(parse_id(patient))
        if patient is None or not can_see_patient(actor, patient):
            raise ValidationError({"patient": [_("No such patient in your institution.")]})
    return _submit(actor=actor, patient=patient, form=form, previous=previous, request=request)


@transaction.atomic
def prescription_cancel(*, actor, prescription: Prescription, reason: str):
    """Cancel before dispensing; only a clinician of the prescribing institution's subtree."""
    ensure_capability(actor, "prescribe")
    if not can_see_institution(actor, prescription.institution_id):
        raise ValidationError(_("This prescription belongs to an institution you cannot see."))
    if not reason.strip():
        raise ValidationError({"reason": [_("Give a reason for cancelling.")]})
    return prescription_transition(
        prescription=prescription, to=Stage.CANCELLED, actor=actor, data={"reason": reason.strip()[:300]}
    )


@transaction.atomic
def consult_attach_photo(*, actor, prescription: Prescription, kind: str, upload) -> ConsultAttachment:
    """Attach a tongue/face photo to the prescription's consult (checked and normalised), named
    after the prescription number; patients.services.consult_attach_photo stores it."""
    ensure_capability(actor, "prescribe")
    if not can_see_institution(actor, prescription.institution_id):
        raise ValidationError(_("This prescription belongs to an institution you cannot see."))
    return patient_services.consult_attach_photo(
        actor=actor, consult=prescription.consult, kind=kind, upload=upload, file_stem=prescription.number
    )
