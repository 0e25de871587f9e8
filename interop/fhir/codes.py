"""The FHIR side of the platform's vocabularies: the base of every system and reference, the
platform's own CodeSystems and identifier systems (all under SITE_URL, docs/interop-fhir.md), and
the tables that turn a stage, a finding severity or an institution kind into FHIR codes.

Pure data and small pure functions: no database access."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone, translation

from accounts.models import InstitutionKind
from catalogue.models import SpecialDecoction
from prescriptions.workflow import Stage
from rules.data import CODES, Severity

UCUM = "http://unitsofmeasure.org"
DISPENSE_PERFORMER = "http://terminology.hl7.org/CodeSystem/medicationdispense-performer-function"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
FHIR_VERSION = "4.0.1"  # R4; every resource also validates against the R4B models (tests/test_fhir*.py)
MEDIA_TYPE = "application/fhir+json"

# The platform's own CodeSystems, by the last part of their URL ({SITE_URL}/fhir/CodeSystem/<name>).
HERB, SPECIAL_DECOCTION, STAGE, AUDIT_FINDING = "herb", "special-decoction", "stage", "audit-finding"
AUDIT_MITIGATION, INSTITUTION_KIND = "audit-mitigation", "institution-kind"
# Identifier systems ({SITE_URL}/fhir/sid/<name>).
PRESCRIPTION_NUMBER, PRESCRIPTION_VERSION = "prescription-number", "prescription-version"
USERNAME, INSTITUTION_CODE, RESIDENT_ID, TRACE_KEY = "username", "institution-code", "resident-id", "trace-key"
# Extensions ({SITE_URL}/fhir/StructureDefinition/<name>).
TRACE_HASH, RULE_VERSION, FINDING_SOURCE = "trace-hash", "rule-version", "audit-finding-source"


def base() -> str:
    """The FHIR base URL: SITE_URL (from settings) and /fhir."""
    return f"{settings.SITE_URL}/fhir"


def code_system(name: str) -> str:
    return f"{base()}/CodeSystem/{name}"


def identifier_system(name: str) -> str:
    return f"{base()}/sid/{name}"


def extension_url(name: str) -> str:
    return f"{base()}/StructureDefinition/{name}"


def full_url(reference: str) -> str:
    """The absolute URL of a relative reference such as "Patient/12"."""
    return f"{base()}/{reference}"


def chinese(label) -> str:
    """A choice's label in Simplified Chinese, whatever language the request asked for: FHIR
    displays are data a HIS stores, so they stay one language."""
    with translation.override("zh-hans"):
        return str(label)


def english(label) -> str:
    with translation.override("en"):
        return str(label)


def coding(system_name: str, code: str, display: str) -> dict:
    return {"system": code_system(system_name), "code": code, "display": display}


def instant(value: datetime) -> str:
    """An aware datetime as a FHIR instant, in the platform's time zone (Asia/Shanghai)."""
    return timezone.localtime(value).isoformat()


def number(value):
    """A Decimal (grams, a price) as a JSON number: whole numbers without a fraction."""
    return int(value) if value == value.to_integral_value() else float(value)


def grams(value) -> dict:
    return {"value": number(value), "unit": "g", "system": UCUM, "code": "g"}


def doses(value: int) -> dict:
    """A count of 剂 (doses): UCUM has no unit for it, so the annotation {dose} (a unity) carries it."""
    return {"value": value, "unit": "剂", "system": UCUM, "code": "{dose}"}


# MedicationRequest.status from the prescription's stage; any stage not listed is "active".
REQUEST_STATUS = {
    Stage.DELIVERED: "completed",
    Stage.PICKED_UP: "completed",
    Stage.CANCELLED: "cancelled",
    Stage.REJECTED: "stopped",
}
# Every MedicationRequest status code of R4, and the ones this server produces.
REQUEST_STATUSES = frozenset(
    {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
)
REQUEST_STATUSES_PRODUCED = frozenset({"active", *REQUEST_STATUS.values()})


def request_status(stage: str) -> str:
    return REQUEST_STATUS.get(stage, "active")


def stages_with_request_status(statuses) -> list[str]:
    """The stages whose prescriptions have one of the MedicationRequest `statuses`."""
    return [stage for stage in Stage.values if request_status(stage) in statuses]


# Task.status of the Task of each stage reached; any stage not listed is "completed".
TASK_STATUS = {Stage.REJECTED: "rejected", Stage.CANCELLED: "cancelled", Stage.RECHECK_FAILED: "failed"}


def task_status(stage: str) -> str:
    return TASK_STATUS.get(stage, "completed")


def stage_slug(stage: str) -> str:
    """The stage as it appears in a Task id (FHIR ids take no underscore): recheck_failed → recheck-failed."""
    return stage.replace("_", "-")


def stage_of_slug(slug: str) -> str | None:
    stage = slug.replace("-", "_")
    return stage if "_" not in slug and stage in Stage.values else None


def stage_coding(stage: str) -> dict:
    return coding(STAGE, stage, chinese(Stage(stage).label) if stage in Stage.values else stage)


# DetectedIssue.severity from the audit finding's severity (rules.data.Severity).
ISSUE_SEVERITY = {Severity.BLOCK: "high", Severity.WARN: "moderate", Severity.INFO: "low"}


def finding_coding(code: str) -> dict:
    title = CODES[code][1] if code in CODES else code
    return coding(AUDIT_FINDING, code, title)


def instruction_coding(instruction: str) -> dict:
    label = SpecialDecoction(instruction).label if instruction in SpecialDecoction.values else instruction
    return coding(SPECIAL_DECOCTION, instruction, label)


def institution_kind_coding(kind: str) -> dict:
    label = InstitutionKind(kind).label if kind in InstitutionKind.values else kind
    return coding(INSTITUTION_KIND, kind, chinese(label))


# The pharmacist's answer to a finding (DetectedIssue.mitigation.action).
MITIGATIONS = {"override": "药师说明理由后通过", "reject": "药师驳回处方"}
