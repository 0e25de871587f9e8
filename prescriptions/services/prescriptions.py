"""Submitting, revising and cancelling prescriptions."""

import secrets
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import can_see_institution, ensure_capability, has_capability
from catalogue.formulas import formula_label, formulas_for
from catalogue.models import SpecialDecoction
from catalogue.selectors import herb_resolve_many, herb_suggest
from core.db import related_names
from patients import services as patient_services
from patients.models import Consult, ConsultAttachment, Patient, Pregnancy
from patients.services import patient_create
from rules.services import check_draft

from ..models import Prescription, PrescriptionItem, PrescriptionSequence
from ..workflow import Decoction, DeliveryMode, Stage
from .trace import prescription_transition

MAX_GRAMS = Decimal(500)
MAX_DOSES = 60
MAX_ITEMS = 40
MAX_HERB_NAME = 20
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
# Finding codes that are refused outright instead of being signed for.
REFUSED_CODES = {"catalog.unknown", "herb.inactive"}
INSTRUCTION_LABELS = {label: value for value, label in SpecialDecoction.choices if value}


def finding_key(finding: dict) -> str:
    return f"{finding['code']}:{'+'.join(finding['herbs'])}"


def age_years(patient, today=None) -> Decimal:
    today = today or timezone.localdate()
    return (Decimal((today - patient.date_of_birth).days) / Decimal("365.25")).quantize(Decimal("0.01"))


def allergy_names(patient) -> list[str]:
    prefetched = getattr(patient, "_prefetched_objects_cache", {})
    if "allergies" in prefetched:
        return [herb.name for herb in prefetched["allergies"]]
    return related_names(Patient.allergies, patient.pk)


def draft_for_audit(*, patient, pregnancy: str, weight_kg, doses: int, items: list[dict]) -> dict:
    """A prescription in the audit interchange form (the `manage.py audit_check` JSON)."""
    return {
        "patient": {
            "sex": patient.sex,
            "age_years": str(age_years(patient)),
            "pregnant": pregnancy == Pregnancy.YES,
            "allergies": allergy_names(patient),
            "weight_kg": None if weight_kg in (None, "") else str(weight_kg),
        },
        "doses": doses,
        "items": [
            {"herb": i["herb"], "grams": str(i["grams"]), "instruction": i.get("instruction", "")} for i in items
        ],
    }


def normalise_instruction(value) -> str:
    value = str(value or "").strip()
    return INSTRUCTION_LABELS.get(value, value)


def clean_items(raw_items) -> list[dict]:
    """Resolve and check the herb rows; errors are keyed `items[3].grams` etc."""
    errors: dict[str, list] = {}
    if not raw_items:
        raise ValidationError({"items": [_("Add at least one herb.")]})
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError({"items": [_("A prescription has at most %(n)d herbs.") % {"n": MAX_ITEMS}]})
    cleaned, seen = [], {}
    resolved = herb_resolve_many(str(raw.get("herb", "")) for raw in raw_items)
    for index, raw in enumerate(raw_items):
        path = f"items[{index}]"
        name = str(raw.get("herb", "")).strip()
        herb = resolved.get(name)
        if not name:
            errors.setdefault(f"{path}.herb", []).append(_("Choose a herb."))
        elif herb is None:
            suggestions = herb_suggest(name) if len(name) <= MAX_HERB_NAME else []
            message = _("“%(name)s” is not in the herb catalogue.") % {"name": name}
            if suggestions:
                message += " " + _("Did you mean: %(names)s?") % {"names": "、".join(suggestions)}
            errors.setdefault(f"{path}.herb", []).append(message)
        elif not herb.active:
            errors.setdefault(f"{path}.herb", []).append(
                _("%(name)s is not dispensed (inactive in the catalogue).") % {"name": name}
            )
        elif herb.pk in seen:
            errors.setdefault(f"{path}.herb", []).append(
                _("%(name)s is already in row %(row)d.") % {"name": name, "row": seen[herb.pk] + 1}
            )
        try:
            grams = Decimal(str(raw.get("grams", "")))
            if not grams.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.setdefault(f"{path}.grams", []).append(_("Enter the grams as a number."))
            grams = None
        else:
            if grams <= 0 or grams > MAX_GRAMS:
                errors.setdefault(f"{path}.grams", []).append(_("Grams must be more than 0 and at most 500."))
            elif grams != grams.quantize(Decimal("0.01")):
                errors.setdefault(f"{path}.grams", []).append(_("Use at most two decimals."))
        instruction = normalise_instruction(raw.get("instruction", ""))
        if instruction and instruction not in SpecialDecoction.values:
            errors.setdefault(f"{path}.instruction", []).append(_("Unknown decoction instruction."))
        if herb is not None and herb.pk not in seen:
            seen[herb.pk] = index
        cleaned.append({"herb": name, "herb_obj": herb, "grams": grams, "instruction": instruction})
    if errors:
        raise ValidationError(errors)
    return cleaned


def price_quote(*, items: list[dict], doses: int, decoction: str, delivery: str) -> dict:
    """Catalogue price × grams × doses per herb, plus decoction and delivery fees."""
    lines = []
    for item in items:
        price = item["herb_obj"].price_per_g or Decimal(0)
        lines.append((price * item["grams"] * doses).quantize(Decimal("0.01")))
    herb_total = sum(lines, Decimal(0))
    decoction_fee = settings.TCM_DECOCTION_FEE_PER_DOSE * doses if decoction == Decoction.CENTER else Decimal(0)
    delivery_fee = settings.TCM_DELIVERY_FEE if delivery == DeliveryMode.ADDRESS else Decimal(0)
    return {
        "lines": lines,
        "herb_total": herb_total,
        "decoction_fee": decoction_fee,
        "delivery_fee": delivery_fee,
        "total": herb_total + decoction_fee + delivery_fee,
    }


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


def check_signature(*, actor, findings: list[dict], signature: dict | None) -> dict:
    """Block-level findings need the prescriber's second signature: the password again and a
    reason for each finding (《中药处方格式及书写规范》: 配伍禁忌/超剂量须重新签名)."""
    blocking = [f for f in findings if f["severity"] == "block" and f["code"] not in REFUSED_CODES]
    if not blocking:
        return {}
    signature = signature or {}
    errors = {}
    if not signature.get("password") or not actor.check_password(str(signature["password"])):
        errors["double_signature.password"] = [
            _("This prescription has block-level findings: sign again with your password.")
        ]
    reasons = signature.get("reasons") or {}
    missing = [f for f in blocking if not str(reasons.get(finding_key(f), "")).strip()]
    for finding in missing:
        errors.setdefault("double_signature.reasons", []).append(
            _("Give a reason for: %(message)s") % {"message": finding["message"]}
        )
    if errors:
        raise ValidationError(errors)
    return {
        "signed_by": actor.pk,
        "signed_by_name": str(actor),
        "signed_at": timezone.now().isoformat(),
        "findings": [{**f, "reason": str(reasons[finding_key(f)]).strip()[:300]} for f in blocking],
    }


def _clean_header(values: dict) -> dict:
    errors = {}
    try:
        doses = int(values.get("doses") or 0)
    except (TypeError, ValueError):
        doses = 0
    if not 1 <= doses <= MAX_DOSES:
        errors["doses"] = [_("Doses must be between 1 and 60.")]
    consult = values.get("consult") or {}
    if not str(consult.get("tcm_disease", "")).strip():
        errors["consult.tcm_disease"] = [_("A TCM diagnosis (disease) is required.")]
    usage = str(values.get("usage", "")).strip()
    if not usage:
        errors["usage"] = [_("Write how to take it, e.g. 每日1剂，水煎分2次温服.")]
    decoction = values.get("decoction") or Decoction.CENTER
    if decoction not in Decoction.values:
        errors["decoction"] = [_("Choose centre or self decoction.")]
    delivery = values.get("delivery") or DeliveryMode.ADDRESS
    if delivery not in DeliveryMode.values:
        errors["delivery"] = [_("Choose delivery or pickup.")]
    address = str(values.get("delivery_address", "")).strip()
    if delivery == DeliveryMode.ADDRESS and not address:
        errors["delivery_address"] = [_("A delivery address is required.")]
    pregnancy = consult.get("pregnancy") or Pregnancy.UNKNOWN
    if pregnancy not in Pregnancy.values:
        errors["consult.pregnancy"] = [_("Unknown pregnancy status.")]
    if errors:
        raise ValidationError(errors)
    return {
        "doses": doses,
        "usage": usage[:200],
        "decoction": decoction,
        "delivery": delivery,
        "delivery_address": address[:200],
        "consult": {**consult, "pregnancy": pregnancy},
    }


def prescription_precheck(*, actor, patient, values: dict) -> dict:
    """The findings and price for a draft, nothing saved (the editor's live warnings). Only the
    rows and the doses matter here; the rest of the form is checked on submit."""
    ensure_capability(actor, "prescribe")
    items = clean_items(values.get("items") or [])
    try:
        doses = int(values.get("doses") or 1)
    except (TypeError, ValueError):
        doses = 1
    if not 1 <= doses <= MAX_DOSES:
        raise ValidationError({"doses": [_("Doses must be between 1 and 60.")]})
    consult = values.get("consult") or {}
    decoction = values.get("decoction") if values.get("decoction") in Decoction.values else Decoction.CENTER
    delivery = values.get("delivery") if values.get("delivery") in DeliveryMode.values else DeliveryMode.ADDRESS
    draft = draft_for_audit(
        patient=patient,
        pregnancy=consult.get("pregnancy"),
        weight_kg=consult.get("weight_kg"),
        doses=doses,
        items=items,
    )
    return {
        "findings": check_draft(draft).findings,
        "price": price_quote(items=items, doses=doses, decoction=decoction, delivery=delivery),
    }


@transaction.atomic
def prescription_submit(
    *, actor, patient, values: dict, previous: Prescription | None = None
) -> tuple[Prescription, bool]:
    """Create a prescription (version 1, or the next version of a rejected one) with status
    `submitted`, its trace event, and — after commit — the AI audit. The rule check made here
    (findings, rule version) is stored on the prescription; the audit run keeps it.

    Returns (prescription, created). The same idempotency key from the same prescriber returns
    the first prescription instead of creating a second. Raises ValidationError with field paths
    such as `items[3].grams`, leaving nothing written."""
    return _submit(actor=actor, patient=patient, values=values, previous=previous)


def _submit(*, actor, patient, values: dict, previous: Prescription | None) -> tuple[Prescription, bool]:
    """prescription_submit's work, inside the caller's transaction."""
    ensure_capability(actor, "prescribe")
    key = str(values.get("idempotency_key") or "")[:64]
    if key:
        existing = Prescription.objects.filter(prescriber=actor, idempotency_key=key).first()
        if existing:
            return existing, False
    if not actor.institution_id:
        raise ValidationError(_("Your account belongs to no institution; ask an administrator."))
    if not can_see_institution(actor, patient.institution_id):
        raise ValidationError({"patient": [_("This patient is registered at an institution you cannot see.")]})
    if previous is not None and previous.status != Stage.REJECTED:
        raise ValidationError(_("Only a rejected prescription can be revised."))
    if previous is not None and Prescription.objects.filter(previous=previous).exists():
        raise ValidationError(_("This prescription has already been revised."))

    errors = {}
    try:
        items = clean_items(values.get("items") or [])
    except ValidationError as exc:
        errors.update(exc.message_dict)
        items = []
    try:
        header = _clean_header(values)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    formula_source = ""
    if values.get("formula"):
        formula = formulas_for(actor).filter(pk=values["formula"]).first()
        if formula is None:
            raise ValidationError({"formula": [_("No such formula.")]})
        formula_source = formula_label(formula)
    consult_values = {k: header["consult"][k] for k in CONSULT_FIELDS if header["consult"].get(k) not in (None, "")}
    draft = draft_for_audit(
        patient=patient,
        pregnancy=consult_values.get("pregnancy"),
        weight_kg=consult_values.get("weight_kg"),
        doses=header["doses"],
        items=items,
    )
    check = check_draft(draft)
    signature = check_signature(actor=actor, findings=check.findings, signature=values.get("double_signature"))

    consult = Consult.objects.create(
        patient=patient, clinician=actor, institution_id=actor.institution_id, **consult_values
    )
    quote = price_quote(items=items, doses=header["doses"], decoction=header["decoction"], delivery=header["delivery"])
    today = timezone.localdate()
    prescription = Prescription(
        number=previous.number if previous else next_number(actor.institution, today),
        version=previous.version + 1 if previous else 1,
        previous=previous,
        patient=patient,
        consult=consult,
        prescriber=actor,
        institution_id=actor.institution_id,
        doses=header["doses"],
        usage=header["usage"],
        decoction=header["decoction"],
        delivery=header["delivery"],
        delivery_address=header["delivery_address"],
        notes=str(values.get("notes", ""))[:500],
        urgent=bool(values.get("urgent")),
        formula_source=formula_source,
        double_signature=signature,
        precheck_findings=check.findings,
        precheck_rule_version=check.rule_version,
        precheck_duration_ms=check.duration_ms,
        herb_total=quote["herb_total"],
        decoction_fee=quote["decoction_fee"],
        delivery_fee=quote["delivery_fee"],
        total=quote["total"],
        tracking_token=secrets.token_urlsafe(24),
        idempotency_key=key,
    )
    try:
        if key or previous is not None:  # only these can collide with a concurrent twin
            with transaction.atomic():
                prescription.save()
        else:
            prescription.save()
    except IntegrityError:
        existing = Prescription.objects.filter(prescriber=actor, idempotency_key=key).first() if key else None
        if existing:  # the same submit raced itself
            return existing, False
        if previous is not None:  # two revisions of the same version raced
            raise ValidationError(_("This prescription has already been revised.")) from None
        raise
    PrescriptionItem.objects.bulk_create(
        PrescriptionItem(
            prescription_id=prescription.pk,
            position=index + 1,
            herb_id=item["herb_obj"].pk,
            written_name=item["herb"],
            grams=item["grams"],
            instruction=item["instruction"],
            unit_price=item["herb_obj"].price_per_g or 0,
        )
        for index, item in enumerate(items)
    )
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
    )
    return prescription, True


@transaction.atomic
def prescription_submit_for(*, actor, patient, values: dict, previous: Prescription | None = None):
    """Submit for an existing patient (an id the actor may see) or a new one given inline; a new
    patient and the prescription are written together or not at all."""
    key = str(values.get("idempotency_key") or "")[:64]
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
        try:
            patient = Patient.objects.get(pk=patient)
        except Patient.DoesNotExist:
            patient = None
        if patient is None or not (
            has_capability(actor, "view_patients") and can_see_institution(actor, patient.institution_id)
        ):
            raise ValidationError({"patient": [_("No such patient in your institution.")]})
    return _submit(actor=actor, patient=patient, values=values, previous=previous)


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
