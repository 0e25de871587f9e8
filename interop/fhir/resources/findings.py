"""The machine audit's findings as DetectedIssues, with the pharmacist's answer to each as its
mitigation (docs/interop-fhir.md, "DetectedIssue")."""

from audit.models import Decision
from prescriptions.services.drafting import finding_key

from .. import codes
from ..selectors import PrescriptionRecord
from .common import line_reference, local_id, practitioner_reference, reference


def detected_issues(record: PrescriptionRecord) -> list[dict]:
    """One DetectedIssue per finding of the audit run, numbered from 1 in the run's order (most
    severe first); before the run exists, the findings the submit checked ("preliminary")."""
    prescription = record.prescription
    if record.run is not None:
        findings, at, version, status = (
            record.run.findings,
            record.run.created_at,
            record.run.rule_version,
            "final",
        )
    else:
        findings, at = prescription.precheck_findings, prescription.created_at
        version, status = prescription.precheck_rule_version, "preliminary"
    return [
        _issue(record, number, finding, at=at, rule_version=version, status=status)
        for number, finding in enumerate(findings, start=1)
    ]


def _issue(record: PrescriptionRecord, number: int, finding: dict, *, at, rule_version, status) -> dict:
    prescription = record.prescription
    herbs = set(finding.get("herbs") or ())
    implicated = [
        line_reference(prescription.pk, item.position, item.written_name)
        for item in record.lines.items
        if item.written_name in herbs or item.herb.name in herbs
    ]
    issue = {
        "resourceType": "DetectedIssue",
        "id": local_id(prescription.pk, number),
        "status": status,
        "code": {"coding": [codes.finding_coding(finding["code"])]},
        "severity": codes.ISSUE_SEVERITY.get(finding.get("severity"), "low"),
        "patient": reference("Patient", prescription.patient_id, prescription.patient.name),
        "identifiedDateTime": codes.instant(at),
        "detail": finding.get("message") or finding["code"],
    }
    if implicated:
        issue["implicated"] = implicated
    extensions = []
    if rule_version is not None:
        extensions.append({"url": codes.extension_url(codes.RULE_VERSION), "valueInteger": rule_version})
    if finding.get("source"):
        extensions.append({"url": codes.extension_url(codes.FINDING_SOURCE), "valueString": finding["source"]})
    if extensions:
        issue["extension"] = extensions
    mitigation = _mitigation(record, finding)
    if mitigation:
        issue["mitigation"] = [mitigation]
    return issue


def _mitigation(record: PrescriptionRecord, finding: dict) -> dict | None:
    """The pharmacist's decision on the finding: approved with a written reason for it (the
    decision's `overrides`), or the whole prescription rejected (with the decision's reasons)."""
    decision = record.decision
    if decision is None:
        return None
    if decision.decision == Decision.REJECT:
        kind, text = "reject", "；".join(decision.reasons)
    else:
        kind, text = "override", decision.overrides.get(finding_key(finding), "")
        if not text:
            return None
    action = {"coding": [codes.coding(codes.AUDIT_MITIGATION, kind, codes.MITIGATIONS[kind])]}
    if text:
        action["text"] = text
    pharmacist = record.users.get(decision.pharmacist_id)
    mitigation = {"action": action, "date": codes.instant(decision.created_at)}
    if pharmacist is not None:
        mitigation["author"] = practitioner_reference(pharmacist)
    return mitigation
