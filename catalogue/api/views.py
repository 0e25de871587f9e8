from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from tcm_platform.permissions import CapabilityPermission

from ..models import Herb
from ..selectors import herb_search, stock_batches_visible_to
from .serializers import HerbSerializer, StockBatchSerializer


class HerbListView(generics.ListAPIView):
    """Active catalogue herbs; `q` searches Chinese name, full pinyin, initials and aliases,
    ranked exact-first."""

    serializer_class = HerbSerializer
    permission_classes = [CapabilityPermission.of("view_catalogue")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", OpenApiTypes.STR, description="Chinese name, pinyin or initials, e.g. gc, gancao, 甘草"
            ),
            OpenApiParameter("include_inactive", OpenApiTypes.BOOL),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def _include_inactive(self):
        return self.request.query_params.get("include_inactive") in {"1", "true"}

    def get_queryset(self):
        query = self.request.query_params.get("q", "").strip()[:40]
        if query:
            matches = herb_search(query, include_inactive=self._include_inactive())
            self.matched_aliases = {m.herb.pk: m.matched_alias for m in matches if m.matched_alias}
            return [m.herb for m in matches]
        queryset = Herb.objects.order_by("initials", "name")
        return queryset if self._include_inactive() else queryset.filter(active=True)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "matched_aliases": getattr(self, "matched_aliases", {})}


class HerbDetailView(generics.RetrieveAPIView):
    serializer_class = HerbSerializer
    permission_classes = [CapabilityPermission.of("view_catalogue")]
    queryset = Herb.objects.all()


class StockBatchListView(generics.ListAPIView):
    """Stock batches at the pharmacies the user may see; filter by `herb` or `pharmacy`."""

    serializer_class = StockBatchSerializer
    permission_classes = [CapabilityPermission.of("view_stock")]
    filterset_fields = ["herb", "pharmacy"]

    def get_queryset(self):
        return stock_batches_visible_to(self.request.user).order_by("herb__initials", "expiry_date", "pk")
