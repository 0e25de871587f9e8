"""What the server offers: the CapabilityStatement of GET /fhir/metadata, and the platform's own
CodeSystems, served at the URL each names as its system (GET /fhir/CodeSystem/<name>)."""

from datetime import date

from accounts.models import InstitutionKind
from catalogue.models import SpecialDecoction
from prescriptions.workflow import Stage
from rules.data import CODES

from .. import codes

# When the CapabilityStatement last changed: the date of this module's last change.
PUBLISHED = date(2026, 12, 6)

SEARCH_PARAMETERS = [
    ("patient", "reference", "The patient: 123, Patient/123 or the patient's full URL."),
    ("status", "token", "MedicationRequest status: active, completed, cancelled, stopped (comma: any of them)."),
    ("_lastUpdated", "date", "When the prescription last changed: eq (default), ge, gt, le, lt; repeat to AND."),
    ("group-identifier", "token", "The prescription number, with or without its system (system|value)."),
    ("_count", "number", "Lines per page, 0 to 100 (default 20; over 100 is cut to 100)."),
    ("_offset", "number", "Lines to skip: the paging links carry it."),
]

READ_ONLY = [{"code": "read"}]


def capability_statement() -> dict:
    """A statement of what this server reads and searches (no data in it)."""
    return {
        "resourceType": "CapabilityStatement",
        "id": "tcm-platform",
        "url": f"{codes.base()}/metadata",
        "name": "TcmPlatformFhirReadApi",
        "title": "县域中药处方平台 FHIR 只读接口",
        "status": "active",
        "date": PUBLISHED.isoformat(),
        "publisher": "县域中药处方平台",
        "description": "Read-only FHIR R4 API of the county TCM prescription platform (docs/interop-fhir.md).",
        "kind": "instance",
        "software": {"name": "county TCM prescription platform"},
        "implementation": {"description": "FHIR R4 read API", "url": codes.base()},
        "fhirVersion": codes.FHIR_VERSION,
        "format": ["json", codes.MEDIA_TYPE],
        "rest": [
            {
                "mode": "server",
                "documentation": "Every endpoint but /metadata needs `Authorization: Token <secret>` "
                "(POST /api/v1/auth/token/) of a user who may see patients; answers are scoped to "
                "that user's institutions exactly as /api/v1/ is.",
                "security": {"cors": False, "description": "Token authentication (Authorization: Token <secret>)."},
                "resource": _resources(),
            }
        ],
    }


def _resources() -> list[dict]:
    request = {
        "type": "MedicationRequest",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": name, "type": kind, "documentation": text} for name, kind, text in SEARCH_PARAMETERS],
        "operation": [
            {
                "name": "everything",
                "definition": f"{codes.base()}/OperationDefinition/MedicationRequest-everything",
                "documentation": "Everything about the prescription the line belongs to, as a searchset Bundle.",
            }
        ],
    }
    others = [
        "Patient",
        "Practitioner",
        "Organization",
        "DetectedIssue",
        "MedicationDispense",
        "Task",
        "Provenance",
        "CodeSystem",
    ]
    return [request, *({"type": name, "interaction": READ_ONLY} for name in others)]


def _concepts(rows) -> list[dict]:
    return [{"code": code, "display": display} for code, display in rows]


def _stage_concepts() -> list[dict]:
    return [
        {
            "code": stage.value,
            "display": codes.chinese(stage.label),
            "designation": [{"language": "en", "value": codes.english(stage.label)}],
        }
        for stage in Stage
    ]


def _finding_concepts() -> list[dict]:
    return [
        {"code": code, "display": title, "property": [{"code": "severity", "valueCode": severity}]}
        for code, (severity, title) in CODES.items()
    ]


# name -> (title, description, the concepts' maker); the herbs' come from the catalogue.
CODE_SYSTEMS = {
    codes.STAGE: ("处方流转环节", "The stages of a prescription (prescriptions.workflow.Stage).", _stage_concepts),
    codes.SPECIAL_DECOCTION: (
        "特殊煎法",
        "Special decoction instructions of a herb line (catalogue.models.SpecialDecoction).",
        lambda: _concepts((choice.value, choice.label) for choice in SpecialDecoction if choice.value),
    ),
    codes.AUDIT_FINDING: ("审方规则", "The machine audit's finding codes (rules.data.CODES).", _finding_concepts),
    codes.AUDIT_MITIGATION: (
        "药师处理",
        "The pharmacist's answer to a finding.",
        lambda: _concepts(codes.MITIGATIONS.items()),
    ),
    codes.INSTITUTION_KIND: (
        "机构类别",
        "Kinds of institution of the county tree (accounts.models.InstitutionKind).",
        lambda: _concepts((kind.value, codes.chinese(kind.label)) for kind in InstitutionKind),
    ),
    codes.HERB: ("中药饮片目录", "The county's herb catalogue: code = the herb's id, display = its name.", None),
}


def code_system(name: str, herbs=()) -> dict:
    """The CodeSystem `name` of CODE_SYSTEMS; `herbs` are (id, name) rows for the herb catalogue."""
    title, description, concepts = CODE_SYSTEMS[name]
    concept = _concepts((str(pk), herb) for pk, herb in herbs) if concepts is None else concepts()
    resource = {
        "resourceType": "CodeSystem",
        "id": name,
        "url": codes.code_system(name),
        "name": "".join(part.title() for part in name.split("-")),
        "title": title,
        "status": "active",
        "date": PUBLISHED.isoformat(),
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concept),
        "concept": concept,
    }
    if name == codes.AUDIT_FINDING:
        resource["property"] = [{"code": "severity", "type": "code", "description": "block, warn or info"}]
    return resource
