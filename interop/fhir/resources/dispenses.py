"""Dispensing as MedicationDispenses: one per dispensing record, the herbs weighed as a contained
compound Medication, the photo the re-check compared as a contained Media (docs/interop-fhir.md,
"MedicationDispense")."""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.urls import reverse

from prescriptions.workflow import Stage

from .. import codes
from ..selectors import Dispensing, PrescriptionRecord
from .common import line_reference, local_id, practitioner_reference, reference

PACKAGER, CHECKER = ("packager", "Packager"), ("checker", "Checker")


def medication_dispenses(record: PrescriptionRecord) -> list[dict]:
    handed_over = next(
        (event for event in reversed(record.events) if event.stage in (Stage.DELIVERED, Stage.PICKED_UP)), None
    )
    last = record.dispensings[-1] if record.dispensings else None
    return [
        _dispense(record, dispensing, handed_over if dispensing is last else None) for dispensing in record.dispensings
    ]


def _dispense(record: PrescriptionRecord, dispensing: Dispensing, handed_over) -> dict:
    prescription, check = record.prescription, dispensing.check
    failed = check is not None and check.stage == Stage.RECHECK_FAILED
    dispense = {
        "resourceType": "MedicationDispense",
        "id": local_id(prescription.pk, dispensing.record.pk),
        "contained": [_medication(record, dispensing)],
        "status": "stopped" if failed else "completed",
        "medicationReference": {"reference": "#herbs"},
        "subject": reference("Patient", prescription.patient_id, prescription.patient.name),
        "performer": _performers(record, dispensing),
        "authorizingPrescription": [
            line_reference(prescription.pk, item.position, item.written_name) for item in record.lines.items
        ],
        "quantity": codes.doses(prescription.doses),
        "whenPrepared": codes.instant(dispensing.record.created_at),
        "dosageInstruction": [{"text": prescription.usage}] if prescription.usage else [],
    }
    if failed and check.data.get("reason"):
        dispense["statusReasonCodeableConcept"] = {"text": check.data["reason"]}
    if handed_over is not None and not failed:
        dispense["whenHandedOver"] = codes.instant(handed_over.at)
    if dispensing.photo is not None:
        dispense["contained"].append(_media(record, dispensing.photo))
        dispense["supportingInformation"] = [{"reference": "#photo", "display": "调剂照片"}]
    if not dispense["dosageInstruction"]:
        del dispense["dosageInstruction"]
    return dispense


def _performers(record: PrescriptionRecord, dispensing: Dispensing) -> list[dict]:
    """The dispenser (packager) and the pharmacist who re-checked it (checker), when known."""
    performers = []
    for function, user_id in ((PACKAGER, dispensing.record.dispenser_id), (CHECKER, _checker_id(dispensing))):
        user = record.users.get(user_id)
        if user is not None:
            code, display = function
            coding = {"system": codes.DISPENSE_PERFORMER, "code": code, "display": display}
            performers.append({"function": {"coding": [coding]}, "actor": practitioner_reference(user)})
    return performers


def _checker_id(dispensing: Dispensing):
    return dispensing.check.actor_id if dispensing.check is not None else None


def _medication(record: PrescriptionRecord, dispensing: Dispensing) -> dict:
    """The herbs as weighed (grams for all 剂 of a line, per the prescription's 剂), each coded in
    the catalogue's CodeSystem; a line with no weight recorded keeps its prescribed grams."""
    prescription = record.prescription
    weighed = {line.get("position"): line.get("actual_g") for line in dispensing.record.weights or ()}
    ingredients = []
    for item in record.lines.items:
        total = _grams(weighed.get(item.position)) or item.grams * prescription.doses
        ingredients.append(
            {
                "itemCodeableConcept": {
                    "coding": [codes.coding(codes.HERB, str(item.herb_id), item.herb.name)],
                    "text": item.written_name,
                },
                "strength": {"numerator": codes.grams(total), "denominator": codes.doses(prescription.doses)},
            }
        )
    return {
        "resourceType": "Medication",
        "id": "herbs",
        "code": {"text": f"中药饮片 {prescription.display_number}"},
        "form": {"text": "中药饮片"},
        "ingredient": ingredients,
    }


def _grams(value) -> Decimal | None:
    try:
        grams = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return grams if grams.is_finite() and grams > 0 else None


def _media(record: PrescriptionRecord, photo) -> dict:
    """The photo of the dispensed herbs at its own address on the platform, which serves it to
    signed-in station staff of the county (decoction.views.station_photo); never copied here."""
    media = {
        "resourceType": "Media",
        "id": "photo",
        "status": "completed",
        "subject": reference("Patient", record.prescription.patient_id),
        "createdDateTime": codes.instant(photo.created_at),
        "content": {
            "contentType": "image/jpeg",
            "url": f"{settings.SITE_URL}{reverse('stations:photo', args=[photo.pk])}",
            "title": "调剂照片",
            "creation": codes.instant(photo.created_at),
        },
    }
    uploader = record.users.get(photo.uploaded_by_id)
    if uploader is not None:
        media["operator"] = practitioner_reference(uploader)
    return media
