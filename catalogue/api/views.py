from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from accounts.permissions import CapabilityPermission

from ..formulas import formula_save_personal, formulas_for
from ..models import Herb
from ..selectors import herb_search, stock_batches_visible_to, toxic_listed_herb_ids
from .serializers import FormulaSerializer, HerbSerializer, StockBatchSerializer


class HerbListView(generics.ListAPIView):
    """Active catalogue herbs; `q` searches Chinese name, full pinyin, initials and aliases,
    ranked exact-first, then by how often the county prescribes each herb, then by how often the
    classical formulas use it. Each herb says whether it is on the 28-item toxic list (`toxic`)
    and, for a processed form, its processing (`processing`, with `base_herb`)."""

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
        return {
            **super().get_serializer_context(),
            "matched_aliases": getattr(self, "matched_aliases", {}),
            "toxic_ids": toxic_listed_herb_ids(),
        }


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


class FormulaListCreateView(generics.ListCreateAPIView):
    """Formulas to start a prescription from (`q`: name or initials; `kind`). POST saves one of
    the clinician's own formulas."""

    serializer_class = FormulaSerializer
    permission_classes = [CapabilityPermission.of("prescribe")]

    def get_queryset(self):
        formulas = formulas_for(self.request.user)
        query = self.request.query_params.get("q", "").strip()[:40]
        if query:
            formulas = formulas.filter(Q(name__contains=query) | Q(pinyin_initials__startswith=query.lower()))
        kind = self.request.query_params.get("kind", "")
        if kind:
            formulas = formulas.filter(kind=kind)
        return formulas

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        formula = formula_save_personal(
            actor=request.user,
            name=serializer.validated_data["name"],
            items=request.data.get("items"),
            usage=serializer.validated_data.get("usage", ""),
        )
        return Response(self.get_serializer(formula).data, status=status.HTTP_201_CREATED)


class FormulaDetailView(generics.RetrieveAPIView):
    serializer_class = FormulaSerializer
    permission_classes = [CapabilityPermission.of("prescribe")]

    def get_queryset(self):
        return formulas_for(self.request.user)
