"""Bundles (a search's page, a prescription's $everything) and OperationOutcomes (every error)."""

from django.utils import timezone

from .. import codes
from ..selectors import PrescriptionRecord
from .dispenses import medication_dispenses
from .findings import detected_issues
from .parties import organization, patient, practitioner
from .requests import medication_request, medication_requests
from .workflow import provenances, tasks


def entry(resource: dict, mode: str | None = None) -> dict:
    found = {"fullUrl": codes.full_url(f"{resource['resourceType']}/{resource['id']}"), "resource": resource}
    if mode:
        found["search"] = {"mode": mode}
    return found


def searchset(entries: list[dict], *, total: int, links: list[tuple[str, str]]) -> dict:
    bundle = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": codes.instant(timezone.now())},
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links],
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def request_page(rows: list, *, total: int, links: list[tuple[str, str]]) -> dict:
    """A page of a MedicationRequest search: [(RequestLines, item)] as matches."""
    entries = [entry(medication_request(lines, item), "match") for lines, item in rows]
    return searchset(entries, total=total, links=links)


def everything(record: PrescriptionRecord, *, self_url: str) -> dict:
    """Everything about one prescription version: its lines (the matches), then the patient, the
    practitioners and organizations they name, the findings, the dispensings, one Task per stage
    reached and one Provenance per trace event (included)."""
    matches = medication_requests(record.lines)
    included = [
        patient_of(record),
        *(practitioner(user) for user in sorted(record.users.values(), key=lambda user: user.pk)),
        *(organization(place) for place in sorted(record.institutions.values(), key=lambda place: place.pk)),
        *detected_issues(record),
        *medication_dispenses(record),
        *tasks(record),
        *provenances(record),
    ]
    entries = [entry(resource, "match") for resource in matches] + [entry(resource, "include") for resource in included]
    return searchset(entries, total=len(matches), links=[("self", self_url)])


def patient_of(record: PrescriptionRecord) -> dict:
    found = record.prescription.patient
    return patient(
        found, in_full=record.lines.patient_in_full, institution=record.institutions.get(found.institution_id)
    )


# The resources of one prescription, by type: what a read by id picks its resource from.
OF_PRESCRIPTION = {
    "MedicationRequest": lambda record: medication_requests(record.lines),
    "DetectedIssue": detected_issues,
    "MedicationDispense": medication_dispenses,
    "Task": tasks,
    "Provenance": provenances,
}


def operation_outcome(code: str, message: str, *, severity: str = "error") -> dict:
    """An OperationOutcome with one issue: `code` from the FHIR IssueType codes (not-found,
    not-supported, invalid, forbidden, login, ...), `message` for a person to read."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }
