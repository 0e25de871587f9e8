"""Patient, Practitioner and Organization (docs/interop-fhir.md, "Patient, Practitioner,
Organization"). A patient's record is shown in full only to a reader who may see the patient
(patients.permissions.can_see_patient, as GET /api/v1/patients/<id>/ shows it); anyone else who
sees one of their prescriptions gets the name the prescription shows, nothing more."""

from patients.models import Sex

from .. import codes
from .common import organization_reference, person_name

GENDER = {Sex.MALE: "male", Sex.FEMALE: "female"}


def patient(found, *, in_full: bool, institution=None) -> dict:
    """`institution`: the patient's, loaded already (else the reference names only its id)."""
    if not in_full:
        return {"resourceType": "Patient", "id": str(found.pk), "name": [{"text": found.name}]}
    resource = {
        "resourceType": "Patient",
        "id": str(found.pk),
        "meta": {"lastUpdated": codes.instant(found.updated_at)},
    }
    if found.id_number:
        resource["identifier"] = [
            {
                "use": "official",
                "type": {"coding": [{"system": codes.IDENTIFIER_TYPE, "code": "NI"}], "text": "居民身份证号码"},
                "system": codes.identifier_system(codes.RESIDENT_ID),
                "value": found.id_number,
            }
        ]
    resource.update({"active": True, "name": [{"text": found.name}]})
    if found.mobile:
        resource["telecom"] = [{"system": "phone", "value": found.mobile, "use": "mobile"}]
    resource["gender"] = GENDER.get(found.sex, "unknown")
    if found.date_of_birth:
        resource["birthDate"] = found.date_of_birth.isoformat()
    address = found.address or found.township
    if address:
        resource["address"] = [{"use": "home", "text": address}]
    resource["managingOrganization"] = (
        organization_reference(institution)
        if institution is not None
        else {"reference": f"Organization/{found.institution_id}"}
    )
    return resource


def practitioner(user) -> dict:
    """A staff member: the name and the username they sign in with; no phone, no roles."""
    return {
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "identifier": [{"system": codes.identifier_system(codes.USERNAME), "value": user.username}],
        "active": user.is_active,
        "name": [{"text": person_name(user)}],
    }


def organization(institution) -> dict:
    kind = codes.institution_kind_coding(institution.kind)
    resource = {
        "resourceType": "Organization",
        "id": str(institution.pk),
        "identifier": [{"system": codes.identifier_system(codes.INSTITUTION_CODE), "value": institution.code}],
        "active": institution.is_active,
        "type": [{"coding": [kind], "text": kind["display"]}],
        "name": institution.name,
    }
    if institution.phone:
        resource["telecom"] = [{"system": "phone", "value": institution.phone, "use": "work"}]
    if institution.address:
        resource["address"] = [{"use": "work", "text": institution.address}]
    if institution.parent_id:
        resource["partOf"] = {"reference": f"Organization/{institution.parent_id}"}
    return resource
