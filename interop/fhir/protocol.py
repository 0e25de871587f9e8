"""The FHIR API's HTTP conventions, for every view of interop.fhir.views: answers in
`application/fhir+json; charset=utf-8`, the formats a client may ask for (`Accept`, `_format`),
every error as an OperationOutcome with its status, and the OpenAPI schema's account of them."""

import json

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.permissions import CapabilityPermission
from core.input import MESSAGE_LENGTH, echo
from core.schema import AutoSchema

from .codes import MEDIA_TYPE
from .exceptions import FHIRError
from .resources.bundles import operation_outcome
from .search import check_parameters

# What `_format` or `Accept` may name: JSON in any of its FHIR spellings ("+" arrives as a space
# when a client does not encode it in a query string).
JSON_FORMATS = frozenset({"json", "application/json", MEDIA_TYPE, "application/fhir json", "application/json+fhir"})
ACCEPTABLE = JSON_FORMATS | {"*/*", "application/*"}


class FHIRRenderer(JSONRenderer):
    """JSON as `application/fhir+json; charset=utf-8`; `_pretty=true` indents it."""

    media_type = MEDIA_TYPE
    format = "json"
    charset = "utf-8"

    def get_indent(self, accepted_media_type, renderer_context):
        request = (renderer_context or {}).get("request")
        if request is not None and request.query_params.get("_pretty") == "true":
            return 2
        return super().get_indent(accepted_media_type, renderer_context)


class FHIRNegotiation(BaseContentNegotiation):
    """JSON only: `_format` (which overrides `Accept`) must name JSON, and an `Accept` header,
    when sent, must accept it (*/* does); anything else is a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        formats = request.query_params.getlist("_format")
        if formats:
            if not all(value.strip().lower() in JSON_FORMATS for value in formats):
                raise exceptions.NotAcceptable(_("This server answers in JSON only (_format=json)."))
        elif not accepts_json(request.headers.get("Accept", "")):
            raise exceptions.NotAcceptable(_("This server answers in application/fhir+json only."))
        return renderer, renderer.media_type


def accepts_json(header: str) -> bool:
    """Does an Accept header take JSON? No header at all does; q=0 refuses what it names."""
    if not header.strip():
        return True
    for part in header.split(","):
        media_type, *parameters = (piece.strip().lower() for piece in part.split(";"))
        refused = any(parameter.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for parameter in parameters)
        if media_type in ACCEPTABLE and not refused:
            return True
    return False


# The IssueType code of each error DRF raises (any other: "exception").
ISSUE_CODES = (
    ((exceptions.NotAuthenticated, exceptions.AuthenticationFailed), "login"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not-found"),
    ((exceptions.NotAcceptable, exceptions.MethodNotAllowed, exceptions.UnsupportedMediaType), "not-supported"),
    ((exceptions.ValidationError, exceptions.ParseError), "invalid"),
    (exceptions.Throttled, "throttled"),
)


def fhir_exception_handler(exc, context):
    """Every error of the FHIR API as an OperationOutcome with the status DRF would give it (a
    refused or missing token: 403, as everywhere in this API); a FHIRError with its own; a row that
    is not there (or not for this reader) a 404. Anything else is left to raise."""
    if isinstance(exc, FHIRError):
        return Response(operation_outcome(exc.code, exc.message), status=exc.status)
    if isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound(_("No such resource that you may see."))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((code for kinds, code in ISSUE_CODES if isinstance(exc, kinds)), "exception")
    response.data = operation_outcome(code, echo(_first_message(exc.detail), MESSAGE_LENGTH))
    return response


def _first_message(detail) -> str:
    while isinstance(detail, (list, dict)) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)


ERROR_DESCRIPTIONS = {
    400: gettext_lazy("OperationOutcome: a parameter this server does not support, or a value it cannot read."),
    403: gettext_lazy("OperationOutcome: no token, a refused token, or a role that may not read patients' data."),
    404: gettext_lazy("OperationOutcome: no such resource that you may see."),
    406: gettext_lazy("OperationOutcome: a format other than JSON was asked for."),
    503: gettext_lazy("OperationOutcome: the database is briefly unavailable; try again after Retry-After."),
}


class FHIRSchema(AutoSchema):
    """The project's AutoSchema, with the error answers documented as OperationOutcomes."""

    def _get_response_bodies(self, direction="response"):
        responses = openapi.AutoSchema._get_response_bodies(self, direction)
        for status in [*self.error_statuses(), 406]:
            if status in ERROR_DESCRIPTIONS:
                answer = OpenApiResponse(OpenApiTypes.OBJECT, description=ERROR_DESCRIPTIONS[status])
                responses.setdefault(str(status), self._get_response_for_code(answer, str(status)))
        return responses


class FHIRView(APIView):
    """A read of the FHIR API: GET only, token (or session) authenticated, for users who may see
    patients (as /api/v1/prescriptions/ is); parameters besides `supported` and the general ones
    (`_format`, `_pretty`), or given twice, are a 400 (interop.fhir.search.check_parameters)."""

    renderer_classes = [FHIRRenderer]
    content_negotiation_class = FHIRNegotiation
    permission_classes = [CapabilityPermission.of("view_patients")]
    http_method_names = ["get", "head"]
    schema = FHIRSchema()
    supported = frozenset()

    def get_exception_handler(self):
        return fhir_exception_handler

    @classmethod
    def answer_refusal(cls, request, *, status: int, message: str) -> HttpResponse:
        """A refusal made before the view runs (core.middleware.view_answer: a NUL in the query
        string, the database away) as an OperationOutcome."""
        code = {400: "invalid", 503: "transient"}.get(status, "exception")
        body = json.dumps(operation_outcome(code, echo(message, MESSAGE_LENGTH)), ensure_ascii=False)
        return HttpResponse(body, status=status, content_type=f"{MEDIA_TYPE}; charset=utf-8")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        check_parameters(request.query_params, self.supported)
