"""What every builder shares: references and the ids of the resources of one prescription."""

from core.ids import parse_id

from ..codes import PRESCRIPTION_NUMBER, PRESCRIPTION_VERSION, identifier_system


def reference(resource_type: str, pk, display: str | None = None) -> dict:
    found = {"reference": f"{resource_type}/{pk}"}
    if display:
        found["display"] = display
    return found


def local_id(prescription_pk: int, local) -> str:
    """The id of a resource of one prescription: "<prescription id>-<local part>" (a line's
    position, a finding's number, a dispensing record's id, a stage, a trace event's seq)."""
    return f"{prescription_pk}-{local}"


def split_id(resource_id: str) -> tuple[int, str] | None:
    """(prescription id, local part) of an id made by local_id; None for anything else."""
    head, dash, local = resource_id.partition("-")
    pk = parse_id(head) if dash and local and not head.startswith(("0", "+")) else None
    return None if pk is None else (pk, local)


def line_reference(prescription_pk: int, position: int, display: str | None = None) -> dict:
    return reference("MedicationRequest", local_id(prescription_pk, position), display)


def person_name(user) -> str:
    return str(user)


def practitioner_reference(user) -> dict:
    return reference("Practitioner", user.pk, person_name(user))


def organization_reference(institution) -> dict:
    return reference("Organization", institution.pk, institution.name)


def number_identifiers(prescription) -> tuple[dict, dict]:
    """(the prescription number, shared by every line and version; the number with its version)."""
    number = {"system": identifier_system(PRESCRIPTION_NUMBER), "value": prescription.number}
    version = {
        "system": identifier_system(PRESCRIPTION_VERSION),
        "value": f"{prescription.number}-v{prescription.version}",
    }
    return number, version
