"""The bare stack's three endpoints: the least a DRF read, a cached read and a one-row insert
can cost on this machine's database and Redis."""

from django.core.cache import cache
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Row


class Hello(APIView):
    def get(self, request):
        return Response({"ok": True})


class Cached(APIView):
    """One Redis round trip, like a cached tracking page."""

    def get(self, request):
        value = cache.get("bare-cached")
        if value is None:
            value = {"ok": True}
            cache.set("bare-cached", value, 300)
        return Response(value)


class Insert(APIView):
    def post(self, request):
        row = Row.objects.create(note=str(request.data.get("note", ""))[:50])
        return Response({"id": row.pk}, status=201)


urlpatterns = [
    path("hello/", Hello.as_view()),
    path("cached/", Cached.as_view()),
    path("insert/", Insert.as_view()),
]
