"""The courier's app: what waits for a run, the station's runs, a run with its stops, and each
stop's steps. The same services and scope as the courier's page (delivery.views)."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.api import json_object, request_idempotency_key
from core.input import FormParser, JSONParser, MultiPartParser
from prescriptions.selectors import prescriptions_for_stations
from prescriptions.services import prescription_record_step

from ..models import DeliveryRun, DeliveryStop
from ..permissions import runs_visible_to
from ..selectors import prescriptions_waiting_for_courier
from ..services import RECORDERS, run_add_stops, run_create, stop_failed
from .serializers import (
    RunCreateSerializer,
    RunSerializer,
    StopsAddSerializer,
    StopSerializer,
    StopStepJsonSerializer,
    StopStepSerializer,
    WaitingSerializer,
)

COURIER = CapabilityPermission.of("deliver")
STOPS = Prefetch(
    "stops", queryset=DeliveryStop.objects.select_related("run", "prescription__patient").order_by("position")
)


def _chosen(user, ids: list[int]) -> list:
    """The prescriptions `ids` name, as the station surfaces reach them; an id the user cannot
    reach is a 400 at its place, as for one that does not exist."""
    found = {p.pk: p for p in prescriptions_for_stations(user).filter(pk__in=ids).select_related("patient")}
    missing = {f"prescriptions[{n}]": [_("No such prescription.")] for n, pk in enumerate(ids) if pk not in found}
    if missing:
        raise ValidationError(missing)
    return list({pk: found[pk] for pk in ids}.values())


def _run(user, pk) -> DeliveryRun:
    run = runs_visible_to(user).filter(pk=pk).select_related("courier").prefetch_related(STOPS).first()
    if run is None:
        raise NotFound()
    return run


class WaitingListView(generics.ListAPIView):
    """Packaged for delivery to an address and on no open run: urgent first, then the longest waiting."""

    permission_classes = [COURIER]
    serializer_class = WaitingSerializer

    def get_queryset(self):
        return prescriptions_waiting_for_courier(self.request.user)


class RunListCreateView(generics.ListCreateAPIView):
    """GET: the open runs of the courier's delivery station, newest first (a patient's name,
    mobile and address only on the caller's own). POST {prescriptions, area}: a new run of the
    caller's, one stop per prescription in the order given."""

    permission_classes = [COURIER]
    serializer_class = RunSerializer

    def get_queryset(self):
        return (
            runs_visible_to(self.request.user)
            .filter(is_open=True)
            .select_related("courier")
            .prefetch_related(STOPS)
            .order_by("-created_at", "-pk")
        )

    @extend_schema(request=RunCreateSerializer, responses={201: RunSerializer})
    def post(self, request):
        given = RunCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        run = run_create(
            courier=request.user,
            prescriptions=_chosen(request.user, given.validated_data["prescriptions"]),
            area=given.validated_data["area"],
        )
        return Response(self.get_serializer(_run(request.user, run.pk)).data, status=status.HTTP_201_CREATED)


class RunStopsView(APIView):
    """Add packaged prescriptions to the end of one's own open run. 404 for a run of another
    station, 403 for a colleague's run or a closed one."""

    permission_classes = [COURIER]

    @extend_schema(request=StopsAddSerializer, responses={201: RunSerializer})
    def post(self, request, pk):
        run = _run(request.user, pk)
        given = StopsAddSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        run_add_stops(
            courier=request.user, run=run, prescriptions=_chosen(request.user, given.validated_data["prescriptions"])
        )
        run = _run(request.user, pk)
        return Response(RunSerializer(run, context={"request": request}).data, status=status.HTTP_201_CREATED)


class StopStepView(APIView):
    """One stop of the caller's own open run: set off (`shipped`), `delivered` or `failed`. Any
    other stop is a 404, as on the courier's page; 409 for a step out of order."""

    permission_classes = [COURIER]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": StopStepSerializer, "application/json": StopStepJsonSerializer},
        responses={200: StopSerializer},
    )
    def post(self, request, pk):
        stop = (
            DeliveryStop.objects.select_related("prescription")
            .filter(pk=pk, run__courier=request.user, run__is_open=True)
            .first()
        )
        if stop is None:
            raise NotFound()
        given = StopStepSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        action = given.validated_data["action"]
        if action == "failed":
            reason = given.validated_data.get("reason", "")
            stop_failed(actor=request.user, prescription=stop.prescription, reason=reason)
        else:
            body = json_object(request)
            data = {key: body.get(key) for key in body if key not in request.FILES}
            data["idempotency_key"] = request_idempotency_key(request, data)
            prescription_record_step(
                actor=request.user,
                prescription=stop.prescription,
                stage=action,
                data=data,
                files=request.FILES,
                recorder=RECORDERS[action],
            )
        stop = DeliveryStop.objects.select_related("run", "prescription__patient").get(pk=stop.pk)
        return Response(StopSerializer(stop, context={"request": request}).data)
