"""The platform's URLs plus the floor endpoint the submit benchmark compares against: an
authenticated POST that inserts one row, through the same middleware, authentication and DRF."""

import uuid

from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import WorkerHeartbeat
from tcm_platform.urls import urlpatterns as platform_urlpatterns


class InsertOneRow(APIView):
    def post(self, request):
        WorkerHeartbeat.objects.create(worker=f"bench-{uuid.uuid4().hex}", seen_at=timezone.now())
        return Response({"ok": True}, status=201)


class Ping(APIView):
    """The least a DRF endpoint can do: no authentication, no database."""

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/insert-one/", InsertOneRow.as_view()),
    path("bench/ping/", Ping.as_view()),
    *platform_urlpatterns,
]
