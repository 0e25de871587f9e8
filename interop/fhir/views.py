"""The FHIR R4 read API under /fhir/ (docs/interop-fhir.md): each view reads its parameters, asks
a selector scoped to the reader (interop.fhir.selectors) and answers with a builder's resource."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.ids import parse_id
from prescriptions.models import Prescription

from . import codes, selectors
from .exceptions import FHIRError
from .protocol import JSON_FORMATS, FHIRView
from .resources.bundles import OF_PRESCRIPTION, everything, request_page
from .resources.capability import CODE_SYSTEMS, capability_statement, code_system
from .resources.common import split_id
from .resources.parties import organization, patient, practitioner
from .search import SEARCH, page_links, parse_search

ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The resource's id")
FORMAT = OpenApiParameter(
    "_format",
    OpenApiTypes.STR,
    enum=sorted(JSON_FORMATS - {"application/fhir json"}),  # its "+" sent unencoded: taken, not advertised
    description="JSON only; overrides Accept",
)
PRETTY = OpenApiParameter("_pretty", OpenApiTypes.BOOL, description="true: indented JSON")


def answer(description: str) -> dict:
    return {200: OpenApiResponse(OpenApiTypes.OBJECT, description=description)}


def not_found() -> FHIRError:
    return FHIRError(404, "not-found", _("No such resource that you may see."))


class MetadataView(FHIRView):
    """The CapabilityStatement: open to everyone, it holds no data."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="fhir_metadata",
        summary="FHIR CapabilityStatement",
        parameters=[FORMAT, PRETTY],
        responses=answer(gettext_lazy("A CapabilityStatement of what this server reads and searches.")),
        tags=["fhir"],
    )
    def get(self, request):
        return Response(capability_statement())


SEARCH_PARAMETERS = [
    OpenApiParameter("patient", OpenApiTypes.STR, description="123, Patient/123 or the patient's full URL"),
    OpenApiParameter("status", OpenApiTypes.STR, description="active, completed, cancelled, stopped (comma: any)"),
    OpenApiParameter(
        "_lastUpdated", OpenApiTypes.STR, many=True, description="eq (default), ge, gt, le, lt + a date or dateTime"
    ),
    OpenApiParameter("group-identifier", OpenApiTypes.STR, description="The prescription number ([system|]value)"),
    OpenApiParameter("_count", {"type": "integer", "minimum": 0}, description="Lines per page, 0 to 100 (default 20)"),
    OpenApiParameter(
        "_offset", {"type": "integer", "minimum": 0}, description="Lines to skip (the paging links carry it)"
    ),
    FORMAT,
    PRETTY,
]


class MedicationRequestSearchView(FHIRView):
    """The herb lines of the prescriptions the reader sees (as GET /api/v1/prescriptions/ lists
    them), latest changed first, a page at a time (`_count`, `_offset`; `next` and `previous`
    links). Any other parameter is a 400 OperationOutcome "not-supported"."""

    supported = SEARCH

    @extend_schema(
        operation_id="fhir_medicationrequest_search",
        summary="Search MedicationRequests (herb lines)",
        parameters=SEARCH_PARAMETERS,
        responses=answer(gettext_lazy("A searchset Bundle of the matching herb lines, with paging links.")),
        tags=["fhir"],
    )
    def get(self, request):
        search = parse_search(request.query_params)
        total, rows = selectors.request_lines_page(
            request.user, search.filters, offset=search.offset, count=search.count
        )
        return Response(request_page(rows, total=total, links=page_links(search, total=total)))


def record_of(user, resource_id: str):
    """The PrescriptionRecord a prescription-scoped id ("<prescription id>-...") belongs to, if
    the user may see that prescription; a 404 otherwise."""
    parts = split_id(resource_id)
    if parts is None:
        raise not_found()
    try:
        return selectors.prescription_record(user, parts[0])
    except Prescription.DoesNotExist:
        raise not_found() from None


def of_prescription(user, resource_type: str, resource_id: str) -> dict:
    record = record_of(user, resource_id)
    found = next((r for r in OF_PRESCRIPTION[resource_type](record) if r["id"] == resource_id), None)
    if found is None:
        raise not_found()
    return found


def read_schema(resource_type: str, description: str):
    return extend_schema(
        operation_id=f"fhir_{resource_type.lower()}_read",
        summary=f"Read a {resource_type}",
        parameters=[ID, FORMAT, PRETTY],
        responses=answer(description),
        tags=["fhir"],
    )


class MedicationRequestReadView(FHIRView):
    """One herb line: id "<prescription id>-<line position>"."""

    @read_schema("MedicationRequest", gettext_lazy("One herb line of a prescription."))
    def get(self, request, id):
        return Response(of_prescription(request.user, "MedicationRequest", id))


class DetectedIssueReadView(FHIRView):
    """One audit finding: id "<prescription id>-<finding number from 1>"."""

    @read_schema("DetectedIssue", gettext_lazy("One finding of a prescription's machine audit."))
    def get(self, request, id):
        return Response(of_prescription(request.user, "DetectedIssue", id))


class MedicationDispenseReadView(FHIRView):
    """One dispensing: id "<prescription id>-<dispensing record id>"."""

    @read_schema("MedicationDispense", gettext_lazy("One dispensing of a prescription."))
    def get(self, request, id):
        return Response(of_prescription(request.user, "MedicationDispense", id))


class TaskReadView(FHIRView):
    """One stage reached: id "<prescription id>-<stage>" (e.g. 12-recheck-failed)."""

    @read_schema("Task", gettext_lazy("One stage a prescription reached."))
    def get(self, request, id):
        return Response(of_prescription(request.user, "Task", id))


class ProvenanceReadView(FHIRView):
    """One trace event: id "<prescription id>-<seq>"."""

    @read_schema("Provenance", gettext_lazy("One trace event of a prescription, with its keyed hash."))
    def get(self, request, id):
        return Response(of_prescription(request.user, "Provenance", id))


class EverythingView(FHIRView):
    """Everything about the prescription version a herb line (any of them) belongs to."""

    @extend_schema(
        operation_id="fhir_medicationrequest_everything",
        summary="Everything about the prescription of a MedicationRequest",
        parameters=[ID, FORMAT, PRETTY],
        responses=answer(
            gettext_lazy(
                "A searchset Bundle: the prescription's lines, its patient, practitioners, organizations,"
                " findings, dispensings, one Task per stage reached and one Provenance per trace event."
            )
        ),
        tags=["fhir"],
    )
    def get(self, request, id):
        record = record_of(request.user, id)
        if id not in {f"{record.prescription.pk}-{item.position}" for item in record.lines.items}:
            raise not_found()
        return Response(everything(record, self_url=f"{codes.base()}/MedicationRequest/{id}/$everything"))


def _pk(resource_id: str) -> int:
    digits = resource_id.isascii() and resource_id.isdigit() and not resource_id.startswith("0")
    pk = parse_id(resource_id) if digits else None
    if pk is None:
        raise not_found()
    return pk


class PatientReadView(FHIRView):
    """A patient of the reader's institutions (as GET /api/v1/patients/<id>/ shows them)."""

    @read_schema("Patient", gettext_lazy("A patient the reader may see."))
    def get(self, request, id):
        found = selectors.patient_for(request.user, _pk(id))
        return Response(patient(found, in_full=True, institution=found.institution))


class PractitionerReadView(FHIRView):
    """A staff member of the reader's institution subtree: name and username."""

    @read_schema("Practitioner", gettext_lazy("A staff member of the reader's institutions."))
    def get(self, request, id):
        return Response(practitioner(selectors.practitioner_for(request.user, _pk(id))))


class OrganizationReadView(FHIRView):
    """An institution of the reader's subtree."""

    @read_schema("Organization", gettext_lazy("An institution of the reader's subtree."))
    def get(self, request, id):
        return Response(organization(selectors.organization_for(request.user, _pk(id))))


class CodeSystemReadView(FHIRView):
    """A CodeSystem of the platform: herb, special-decoction, stage, audit-finding,
    audit-mitigation, institution-kind."""

    @read_schema("CodeSystem", gettext_lazy("One of the platform's own CodeSystems."))
    def get(self, request, id):
        if id not in CODE_SYSTEMS:
            raise not_found()
        return Response(code_system(id, selectors.herb_codes() if id == "herb" else ()))


class UnknownView(FHIRView):
    """Any other path under /fhir/: a resource type or operation this server does not offer."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(exclude=True)
    def get(self, request, path=""):
        raise FHIRError(404, "not-supported", _("This server offers no such FHIR endpoint."))
