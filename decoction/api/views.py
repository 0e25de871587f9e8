"""The stations' tablets: which stations the user works at, what waits at one (the station's
pull selector, decoction.selectors.station_queue) and the sheet of a prescription waiting there.
Steps are recorded through POST /api/v1/prescriptions/{id}/events/ (pipeline.api)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission, has_capability
from prescriptions.models import Prescription

from ..selectors import STATIONS, Station, station_queue, stations_for
from .serializers import SheetSerializer, StationQueueItemSerializer, StationSerializer

STATION_STAFF = CapabilityPermission.of("work_stations")


def _station(request, code) -> Station:
    """As the station pages: 404 for no such station, 403 without its capability."""
    station = STATIONS.get(code)
    if station is None:
        raise NotFound()
    if not has_capability(request.user, station.capability):
        raise PermissionDenied()
    return station


class StationListView(APIView):
    permission_classes = [STATION_STAFF]

    @extend_schema(responses=StationSerializer(many=True))
    def get(self, request):
        stations = [
            {
                "code": station.code,
                "label": str(station.label),
                "stages": list(station.stages),
                "waiting": station_queue(request.user, station).count(),
            }
            for station in stations_for(request.user)
        ]
        return Response(StationSerializer(stations, many=True).data)


class StationQueueView(generics.ListAPIView):
    """What waits at the station: urgent (急煎) first, then the longest waiting."""

    permission_classes = [STATION_STAFF]
    serializer_class = StationQueueItemSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view
            return Prescription.objects.none()
        return station_queue(self.request.user, _station(self.request, self.kwargs["code"]))


class StationSheetView(APIView):
    """The rows to weigh or pack of a prescription waiting at the station; 404 for one that is not
    waiting there, as for one that does not exist."""

    permission_classes = [STATION_STAFF]

    @extend_schema(responses=SheetSerializer)
    def get(self, request, code, pk):
        prescription = station_queue(request.user, _station(request, code)).filter(pk=pk).first()
        if prescription is None:
            raise NotFound()
        return Response(SheetSerializer(prescription).data)
