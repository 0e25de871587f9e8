from rest_framework import generics, status
from rest_framework.response import Response

from accounts.permissions import CapabilityPermission

from ..filters import FormulaFilter, HerbFilter, StockBatchFilter
from ..formulas import formula_save_personal, formulas_for
from ..models import Herb
from ..selectors import herb_catalogue, stock_batches_visible_to, toxic_listed_herb_ids
from .serializers import FormulaSerializer, HerbSerializer, StockBatchSerializer


class HerbListView(generics.ListAPIView):
    """Active catalogue herbs; `q` searches Chinese name, full pinyin, initials and aliases,
    ranked exact-first, then by how often the county prescribes each herb, then by how often the
    classical formulas use it. Each herb says whether it is on the 28-item toxic list (`toxic`)
    and, for a processed form, its processing (`processing`, with `base_herb`)."""

    serializer_class = HerbSerializer
    permission_classes = [CapabilityPermission.of("view_catalogue")]
    filterset_class = HerbFilter

    def get_queryset(self):
        return herb_catalogue()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "toxic_ids": toxic_listed_herb_ids()}


class HerbDetailView(generics.RetrieveAPIView):
    serializer_class = HerbSerializer
    permission_classes = [CapabilityPermission.of("view_catalogue")]
    queryset = Herb.objects.all()


class StockBatchListView(generics.ListAPIView):
    """Stock batches at the pharmacies the user may see; filter by `herb`, `pharmacy` or `q`."""

    serializer_class = StockBatchSerializer
    permission_classes = [CapabilityPermission.of("view_stock")]
    filterset_class = StockBatchFilter

    def get_queryset(self):
        return stock_batches_visible_to(self.request.user).order_by("herb__initials", "expiry_date", "pk")


class FormulaListCreateView(generics.ListCreateAPIView):
    """Formulas to start a prescription from (`q`: name or initials; `kind`). POST saves one of
    the clinician's own formulas."""

    serializer_class = FormulaSerializer
    permission_classes = [CapabilityPermission.of("prescribe")]
    filterset_class = FormulaFilter

    def get_queryset(self):
        return formulas_for(self.request.user)

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
