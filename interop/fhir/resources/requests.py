"""A prescription as MedicationRequests: one per herb line, the lines of one prescription sharing
its number as groupIdentifier (docs/interop-fhir.md, "MedicationRequest")."""

from .. import codes
from ..selectors import RequestLines
from .common import line_reference, local_id, number_identifiers, organization_reference, practitioner_reference
from .common import reference as ref


def medication_request(lines: RequestLines, item) -> dict:
    """The MedicationRequest of one herb line: the herb coded in the catalogue's CodeSystem, its
    grams per 剂 as the dose, the prescription's 剂 as the quantity to dispense."""
    prescription = lines.prescription
    number, version = number_identifiers(prescription)
    resource = {
        "resourceType": "MedicationRequest",
        "id": local_id(prescription.pk, item.position),
        "meta": {"lastUpdated": codes.instant(prescription.updated_at)},
        "identifier": [version],
        "status": codes.request_status(prescription.status),
        "intent": "order",
        "groupIdentifier": number,
        "medicationCodeableConcept": {
            "coding": [codes.coding(codes.HERB, str(item.herb_id), item.herb.name)],
            "text": item.written_name,
        },
        "subject": ref("Patient", prescription.patient_id, prescription.patient.name),
        "authoredOn": codes.instant(prescription.created_at),
        "requester": practitioner_reference(prescription.prescriber),
        "dosageInstruction": [_dosage(prescription, item)],
        "dispenseRequest": {"quantity": codes.doses(prescription.doses)},
    }
    diagnosis = _diagnosis(prescription)
    if diagnosis:
        resource["reasonCode"] = [{"text": diagnosis}]
    if lines.pharmacy is not None:
        resource["dispenseRequest"]["performer"] = organization_reference(lines.pharmacy)
    prior = lines.previous_lines.get(item.herb_id)
    if prior is not None:
        resource["priorPrescription"] = line_reference(prescription.previous_id, prior)
    if prescription.notes:
        resource["note"] = [{"text": prescription.notes}]
    return resource


def _dosage(prescription, item) -> dict:
    dosage = {
        "sequence": item.position,
        "doseAndRate": [{"doseQuantity": codes.grams(item.grams)}],
    }
    if prescription.usage:
        dosage["text"] = prescription.usage
    if item.instruction:
        instruction = codes.instruction_coding(item.instruction)
        dosage["additionalInstruction"] = [{"coding": [instruction], "text": instruction["display"]}]
    return dosage


def _diagnosis(prescription) -> str:
    """The consult's TCM disease and syndrome (中医病名、证型), as the prescription's reason."""
    consult = prescription.consult
    return "，".join(part for part in (consult.tcm_disease, consult.tcm_syndrome) if part)


def medication_requests(lines: RequestLines) -> list[dict]:
    return [medication_request(lines, item) for item in lines.items]
