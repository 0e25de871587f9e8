"""The shared pharmacy's and decoction centre's steps. Each recorder checks who may record it
and the station's own rules, then moves the prescription through prescriptions'
`prescription_transition` (status and trace event in one transaction)."""

import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import has_capability
from catalogue.models import SpecialDecoction, Toxicity, ToxicListEntry
from catalogue.services import OutOfStock, stock_consume_many
from core import tasks
from core.images import make_thumbnail, normalize_photo, photo_quality
from core.input import whole_number
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import prescription_transition, station_event_data
from prescriptions.workflow import Decoction, Stage
from rules.data import CHILD_BELOW_YEARS

from .models import DispensingRecord, Inspection, InspectionResult, StationPhoto, StationSettings
from .permissions import ensure_station_staff

logger = logging.getLogger(__name__)

EXTERIOR_CATEGORIES = {"解表药"}
TONIC_CATEGORIES = {"补虚药"}


def is_child(patient) -> bool:
    """Below the pediatric age the audit rules use (rules.data.CHILD_BELOW_YEARS), today."""
    born = patient.date_of_birth
    return patient.age_on(timezone.localdate()) < CHILD_BELOW_YEARS if born else False


def last_event(prescription: Prescription, stage: str) -> TraceEvent | None:
    return TraceEvent.objects.filter(prescription=prescription, stage=stage).order_by("-at", "-pk").first()


def _acknowledged(data: dict, warnings: list[str]) -> str:
    """Warnings must be acknowledged with a reason; returns the reason or raises ValidationError."""
    reason = str(data.get("ack_reason", "")).strip()[:300]
    if warnings and not reason:
        raise ValidationError({"ack_reason": warnings + [_("Acknowledge with a reason to go on.")]})
    return reason


def _number(value, field: str, *, minimum=0, maximum=100000) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("Enter a number.")]}) from None
    if not number.is_finite() or number <= minimum or number > maximum:
        raise ValidationError(
            {field: [_("Enter a number between %(low)s and %(high)s.") % {"low": minimum, "high": maximum}]}
        )
    return number


def is_toxic_prescription(prescription: Prescription) -> bool:
    """A herb of the 28-item list or 大毒 among its rows (one query)."""
    listed = ToxicListEntry.objects.values("herb_id")
    return prescription.items.filter(Q(herb__toxicity=Toxicity.HIGH) | Q(herb_id__in=listed)).exists()


def save_station_photo(*, actor, prescription: Prescription, stage: str, upload) -> StationPhoto:
    try:
        photo = normalize_photo(upload, name=f"{prescription.number}-{stage}")
    except ValidationError as exc:
        raise ValidationError({"photo": exc.messages}) from None
    content = photo.read()
    photo.seek(0)
    record = StationPhoto.objects.create(
        prescription=prescription, stage=stage, image=photo, quality=photo_quality(content), uploaded_by=actor
    )
    transaction.on_commit(lambda: enqueue_thumbnail(record.pk))
    return record


def enqueue_thumbnail(photo_id: int) -> None:
    """After commit; a broker outage must not fail the step (the sweep makes it later). Sent by
    name: the tasks module imports these services, not the other way round."""
    tasks.enqueue("decoction.make_thumbnail", photo_id)


def _weighed(items: list, weights, *, doses: int, tolerance_pct) -> list[tuple]:
    """(item, actual, expected, deviation) per herb; raises ValidationError naming every bad weight."""
    if not isinstance(weights, list) or len(weights) != len(items):
        raise ValidationError(
            {"weights": [_("Give the weighed grams of each of the %(n)d herbs.") % {"n": len(items)}]}
        )
    errors, measured = {}, []
    for index, (item, weight) in enumerate(zip(items, weights, strict=True)):
        path = f"weights[{index}].grams"
        try:
            actual = _number((weight or {}).get("grams") if isinstance(weight, dict) else weight, path, maximum=30000)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        expected = item.grams * doses
        deviation = (actual - expected) / expected
        if abs(deviation) > tolerance_pct / 100:
            errors[path] = [
                _("%(herb)s: %(actual)s g weighed, %(expected)s g prescribed (%(dev)+.1f%%, over ±%(tol)s%%).")
                % {
                    "herb": item.written_name,
                    "actual": actual,
                    "expected": expected,
                    "dev": deviation * 100,
                    "tol": tolerance_pct,
                }
            ]
        measured.append((item, actual, expected, deviation))
    if errors:
        raise ValidationError(errors)
    return measured


@transaction.atomic
def record_dispensed(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    """Weights per herb (total grams for all doses) within the tolerance, stock taken by batch
    (earliest expiry first) in the same transaction, and a photo of the herbs."""
    pharmacy = ensure_station_staff(actor, prescription, Stage.DISPENSED)
    tolerance_pct = StationSettings.current().weight_tolerance_pct
    items = list(prescription.items.select_related("herb").order_by("position"))
    measured = _weighed(items, data.get("weights"), doses=prescription.doses, tolerance_pct=tolerance_pct)
    upload = files.get("photo")
    if upload is None:
        raise ValidationError({"photo": [_("Photograph the dispensed herbs for the re-check.")]})
    try:
        consumed = stock_consume_many(
            pharmacy=pharmacy,
            wanted=[(item.herb, actual) for item, actual, _expected, _deviation in measured],
            reference=prescription.display_number,
            actor=actor,
        )
    except OutOfStock as exc:
        raise ValidationError({f"weights[{exc.index}].grams": exc.messages}) from None
    lines = []
    for (item, actual, expected, deviation), movements in zip(measured, consumed, strict=True):
        lines.append(
            {
                "position": item.position,
                "herb": item.written_name,
                "expected_g": str(expected),
                "actual_g": str(actual),
                "deviation_pct": round(float(deviation) * 100, 2),
                "batches": [{"batch_no": m.batch.batch_no, "grams": str(-m.delta_g)} for m in movements],
            }
        )
    record = DispensingRecord.objects.create(
        prescription=prescription, dispenser=actor, pharmacy=pharmacy, weights=lines
    )
    photo = save_station_photo(actor=actor, prescription=prescription, stage=Stage.DISPENSED, upload=upload)
    details = {"record": record.pk, "photo": photo.pk, "photo_quality": photo.quality, "weights": lines}
    return prescription_transition(
        prescription=prescription,
        to=Stage.DISPENSED,
        actor=actor,
        data=station_event_data(actor, Stage.DISPENSED, details, data),
    )


@transaction.atomic
def record_recheck(*, actor, prescription: Prescription, data: dict, files: dict, passed: bool) -> TraceEvent:
    """A pharmacist compares the photo and weights with the prescription: pass (`rechecked`) or
    send back (`recheck_failed`, with a reason). The re-checker is never the dispenser."""
    stage = Stage.RECHECKED if passed else Stage.RECHECK_FAILED
    ensure_station_staff(actor, prescription, stage)
    dispensing = prescription.dispensing_records.order_by("-created_at", "-pk").first()
    if dispensing is None:
        raise ValidationError(_("Nothing has been dispensed yet."))
    if dispensing.dispenser_id == actor.pk:
        raise PermissionDenied(_("The re-checker cannot be the dispenser of the same prescription."))
    reason = str(data.get("reason", "")).strip()[:300]
    if not passed and not reason:
        raise ValidationError({"reason": [_("Say what is wrong so the dispenser can correct it.")]})
    details = {"result": "pass" if passed else "fail", "reason": reason, "dispensing": dispensing.pk}
    if is_toxic_prescription(prescription):
        details["signatures"] = {"dispenser": str(dispensing.dispenser), "rechecker": str(actor)}
    return prescription_transition(
        prescription=prescription, to=stage, actor=actor, data=station_event_data(actor, stage, details, data)
    )


@transaction.atomic
def record_soaking(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    ensure_station_staff(actor, prescription, Stage.SOAKING)
    tank = str(data.get("tank", "")).strip()[:20]
    if not tank:
        raise ValidationError({"tank": [_("Scan or type the soaking tank or pot number.")]})
    return prescription_transition(
        prescription=prescription,
        to=Stage.SOAKING,
        actor=actor,
        data=station_event_data(actor, Stage.SOAKING, {"tank": tank}, data),
    )


def required_steps(prescription: Prescription) -> list[dict]:
    """The special decoction steps this prescription needs (先煎/后下/包煎/另煎/烊化/冲服)."""
    labels = dict(SpecialDecoction.choices)
    return [
        {"herb": item.written_name, "instruction": item.instruction, "label": labels[item.instruction]}
        for item in prescription.items.order_by("position")
        if item.instruction
    ]


@transaction.atomic
def record_decocting(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    """Start decocting on a machine. Soaking shorter than the SOP needs an acknowledged reason."""
    ensure_station_staff(actor, prescription, Stage.DECOCTING)
    settings = StationSettings.current()
    machine = str(data.get("machine", "")).strip()[:20]
    if not machine:
        raise ValidationError({"machine": [_("Scan or type the decoction machine number.")]})
    soaked = last_event(prescription, Stage.SOAKING)
    minutes = int((timezone.now() - soaked.at).total_seconds() // 60) if soaked else 0
    warnings = []
    if minutes < settings.soak_min_minutes:
        warnings.append(
            _("Soaked for %(minutes)d minutes, less than %(limit)d.")
            % {"minutes": minutes, "limit": settings.soak_min_minutes}
        )
    reason = _acknowledged(data, warnings)
    return prescription_transition(
        prescription=prescription,
        to=Stage.DECOCTING,
        actor=actor,
        data=station_event_data(
            actor,
            Stage.DECOCTING,
            {
                "machine": machine,
                "soaked_minutes": minutes,
                "steps": required_steps(prescription),
                "warnings": warnings,
                "ack_reason": reason,
            },
            data,
        ),
    )


def decoction_type(prescription: Prescription) -> str:
    categories = [item.herb.category for item in prescription.items.select_related("herb")]
    if sum(c in EXTERIOR_CATEGORIES for c in categories) * 2 > len(categories):
        return "exterior"
    if sum(c in TONIC_CATEGORIES for c in categories) * 2 > len(categories):
        return "tonic"
    return "general"


@transaction.atomic
def record_packaged(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    """Bags and ml per bag (centre decoction), checked against the SOP for adults or children and
    the decoction time for the prescription's type; a self-decocted prescription is packed as herbs."""
    ensure_station_staff(actor, prescription, Stage.PACKAGED)
    settings = StationSettings.current()
    bags = whole_number(data.get("bags"))
    if bags is None or not 1 <= bags <= 200:  # 2.9 bags is a typing error, not 2 bags
        raise ValidationError({"bags": [_("Enter the number of bags, a whole number from 1 to 200.")]})
    details, warnings = {"bags": bags}, []
    if prescription.decoction == Decoction.CENTER:
        ml = whole_number(_number(data.get("ml_per_bag"), "ml_per_bag", maximum=1000))
        if ml is None:
            raise ValidationError({"ml_per_bag": [_("Enter the ml per bag as a whole number.")]})
        child = is_child(prescription.patient)
        low, high = StationSettings.window(settings.child_ml if child else settings.adult_ml)
        if not low <= ml <= high:
            warnings.append(
                _("%(ml)d ml per bag is outside %(low)d–%(high)d ml for %(who)s.")
                % {"ml": ml, "low": low, "high": high, "who": _("a child") if child else _("an adult")}
            )
        started = last_event(prescription, Stage.DECOCTING)
        minutes = int((timezone.now() - started.at).total_seconds() // 60) if started else 0
        kind = decoction_type(prescription)
        low, high = StationSettings.window(getattr(settings, f"decoct_{kind}"))
        if not low <= minutes <= high:
            warnings.append(
                _("Decocted for %(minutes)d minutes; the SOP for this prescription is %(low)d–%(high)d.")
                % {"minutes": minutes, "low": low, "high": high}
            )
        details.update({"ml_per_bag": ml, "decocted_minutes": minutes, "type": kind})
    details["warnings"] = warnings
    details["ack_reason"] = _acknowledged(data, warnings)
    return prescription_transition(
        prescription=prescription,
        to=Stage.PACKAGED,
        actor=actor,
        data=station_event_data(actor, Stage.PACKAGED, details, data),
    )


def record_rechecked(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    return record_recheck(actor=actor, prescription=prescription, data=data, files=files, passed=True)


def record_recheck_failed(*, actor, prescription: Prescription, data: dict, files: dict) -> TraceEvent:
    return record_recheck(actor=actor, prescription=prescription, data=data, files=files, passed=False)


# This app's station steps, for its own pages (the events API reads pipeline.steps.STEPS).
RECORDERS = {
    Stage.DISPENSED: record_dispensed,
    Stage.RECHECKED: record_rechecked,
    Stage.RECHECK_FAILED: record_recheck_failed,
    Stage.SOAKING: record_soaking,
    Stage.DECOCTING: record_decocting,
    Stage.PACKAGED: record_packaged,
}


def thumbnail_make(*, photo_id: int) -> StationPhoto | None:
    """Idempotent: a photo that has its thumbnail is left alone."""
    photo = StationPhoto.objects.filter(pk=photo_id).first()
    if photo is None or photo.thumbnail:
        return photo
    with photo.image.open("rb") as handle:
        thumb = make_thumbnail(handle.read(), name=f"{photo.prescription_id}-{photo.pk}-thumb")
    photo.thumbnail.save(thumb.name, thumb, save=False)
    StationPhoto.objects.filter(pk=photo.pk, thumbnail="").update(thumbnail=photo.thumbnail.name)
    return photo


def inspections_pick(*, day, rng) -> list[Inspection]:
    """Pick `inspection_share_pct` of the decoctions packaged on `day` (at least one when any
    were) for random inspection. Safe to run twice: a day already picked is left alone."""
    if Inspection.objects.filter(picked_on=day).exists():
        return []
    packaged = list(
        TraceEvent.objects.filter(stage=Stage.PACKAGED, at__date=day, prescription__decoction=Decoction.CENTER)
        .values_list("prescription_id", flat=True)
        .distinct()
    )
    if not packaged:
        return []
    share = StationSettings.current().inspection_share_pct / 100
    count = max(1, round(len(packaged) * float(share)))
    picked = rng.sample(packaged, min(count, len(packaged)))
    return Inspection.objects.bulk_create(
        [Inspection(prescription_id=pk, picked_on=day) for pk in picked], ignore_conflicts=True
    )


@transaction.atomic
def inspection_record(*, actor, inspection: Inspection, result: str, notes: str = "") -> Inspection:
    if not has_capability(actor, "recheck"):
        raise PermissionDenied(_("Only a pharmacist inspects decoctions."))
    if result not in (InspectionResult.PASSED, InspectionResult.FAILED):
        raise ValidationError({"result": [_("Choose passed or failed.")]})
    if result == InspectionResult.FAILED and not notes.strip():
        raise ValidationError({"notes": [_("Say what failed.")]})
    updated = Inspection.objects.filter(pk=inspection.pk, result="").update(
        result=result, notes=notes.strip()[:300], inspector=actor, inspected_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("This inspection has already been recorded."))
    inspection.refresh_from_db()
    return inspection
