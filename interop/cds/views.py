"""The CDS Hooks endpoints (https://cds-hooks.hl7.org/2.0/): discovery, open to anyone (it holds no
data), and the two order services, for a `prescribe` token (Authorization: Token …) like the
precheck they share the engine with. Errors are the API's (core.api): a 400 with each refused
field at its JSON path, 404 for an unknown service, 405 for another method."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.input import JSONParser
from core.schema import ErrorSerializer

from .schema import CdsCardsSerializer, CdsDiscoverySerializer, CdsHookCallSerializer
from .services import cds_discovery, cds_order_check, cds_service


class CdsDiscoveryView(APIView):
    """The CDS services this platform offers, with the prefetch each asks for. Open: no data."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="cds_services_discovery", responses=CdsDiscoverySerializer, tags=["cds-services"])
    def get(self, request):
        return Response(cds_discovery())


class CdsServiceView(APIView):
    """Check a draft herbal order (context.draftOrders) for the patient of the prefetch: one card
    per finding of the platform's audit engine, with the live rule version. Nothing is saved."""

    permission_classes = [CapabilityPermission.of("prescribe")]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="cds_services_call",
        request=CdsHookCallSerializer,
        responses={
            200: CdsCardsSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No CDS service with this id."),
            415: OpenApiResponse(ErrorSerializer, description="The body is not application/json."),
        },
        tags=["cds-services"],
    )
    def post(self, request, service_id):
        service = cds_service(service_id)
        if service is None:
            raise NotFound(_("No CDS service with this id: GET /cds-services lists them."))
        return Response(cds_order_check(actor=request.user, service=service, body=request.data))
