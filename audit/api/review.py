"""The post-hoc review API: the samples routed to the pharmacist's institution, the checklist,
and one score per sample (409 for a second one)."""

from datetime import datetime

import django_filters
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.api import TextField
from core.schema import error_response

from ..models import ReviewSample, ReviewScore, Verdict
from ..review.checklist import ALL_CODES, ARTICLES, ITEMS, SOURCE
from ..review.selectors import review_samples_for, review_visible_sample
from ..review.services import review_score

MONTH_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2]))?$"  # empty: no filter


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-03"})
class MonthFilter(django_filters.CharFilter):
    """A month as YYYY-MM (empty: every month); anything else is a 400 at the field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=[RegexValidator(MONTH_PATTERN)], **kwargs)


class ReviewSampleFilter(django_filters.FilterSet):
    month = MonthFilter(method="in_month", help_text="Only the samples drawn for this month (YYYY-MM).")

    class Meta:
        model = ReviewSample
        fields = ["month"]

    def in_month(self, samples, name, value):
        return samples.filter(round__month=datetime.strptime(value, "%Y-%m").date())


class ReviewScoreOutSerializer(serializers.ModelSerializer):
    pharmacist = serializers.CharField(source="pharmacist.__str__")
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=ALL_CODES))

    class Meta:
        model = ReviewScore
        fields = ["verdict", "reasons", "comment", "pharmacist", "created_at"]


class ReviewSampleSerializer(serializers.ModelSerializer):
    month = serializers.DateField(source="round.month", help_text="The first day of the month drawn")
    number = serializers.CharField(source="prescription.display_number")
    prescriber = serializers.CharField(source="prescriber.__str__")
    institution = serializers.CharField(source="institution.name")
    score = serializers.SerializerMethodField()

    class Meta:
        model = ReviewSample
        fields = ["id", "month", "prescription", "number", "prescriber", "institution", "topped_up", "score"]

    @extend_schema_field(ReviewScoreOutSerializer(allow_null=True))
    def get_score(self, sample):
        score = getattr(sample, "score", None)
        return ReviewScoreOutSerializer(score).data if score else None


class ReviewScoreSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_CODES),
        required=False,
        default=list,
        max_length=len(ALL_CODES),
        help_text="Checklist item codes of the verdict's own category; none for appropriate",
    )
    comment = TextField(max_length=500, required=False, allow_blank=True, default="")


class ReviewChecklistItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    needs_comment = serializers.BooleanField(help_text='An "other" item: the comment says what')


class ReviewChecklistCategorySerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    label = serializers.CharField()
    source = serializers.CharField(help_text="The regulation and article the items come from")
    items = ReviewChecklistItemSerializer(many=True)


class ReviewSampleListView(generics.ListAPIView):
    """The samples routed to the pharmacist's institution for review, those still to score first."""

    permission_classes = [CapabilityPermission.of("review_prescriptions")]
    serializer_class = ReviewSampleSerializer
    filterset_class = ReviewSampleFilter

    def get_queryset(self):
        return review_samples_for(self.request.user)


class ReviewChecklistView(APIView):
    """The checklist per category of irrational prescription, with its source."""

    permission_classes = [CapabilityPermission.of("review_prescriptions")]

    @extend_schema(responses=ReviewChecklistCategorySerializer(many=True))
    def get(self, request):
        categories = [
            {
                "verdict": verdict,
                "label": Verdict(verdict).label,
                "source": f"{SOURCE}{ARTICLES[verdict]}",
                "items": items,
            }
            for verdict, items in ITEMS.items()
        ]
        return Response(ReviewChecklistCategorySerializer(categories, many=True).data)


class ReviewScoreView(APIView):
    """Score a sampled prescription once. 409 when it has been scored already."""

    permission_classes = [CapabilityPermission.of("review_prescriptions")]

    @extend_schema(request=ReviewScoreSerializer, responses={201: ReviewScoreOutSerializer, 409: error_response(409)})
    def post(self, request, pk):
        serializer = ReviewScoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sample = review_visible_sample(request.user, pk)
        except ReviewSample.DoesNotExist:
            raise NotFound() from None
        score = review_score(pharmacist=request.user, sample=sample, **serializer.validated_data)
        return Response(ReviewScoreOutSerializer(score).data, status=status.HTTP_201_CREATED)
