from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.ids import id_field
from core.schema import error_response
from prescriptions.models import Prescription

from ..models import Decision
from ..selectors import audit_queue_for, audit_visible_prescription
from ..services import audit_batch_approve, audit_claim, audit_decide


class QueueItemSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.name")
    institution_name = serializers.CharField(source="institution.name")
    findings = serializers.JSONField(source="audit_run.findings")
    claimed_by = serializers.SerializerMethodField()

    class Meta:
        model = Prescription
        fields = [
            "id",
            "number",
            "version",
            "risk_level",
            "patient_name",
            "institution_name",
            "urgent",
            "created_at",
            "findings",
            "claimed_by",
        ]

    def get_claimed_by(self, obj) -> str | None:
        claim = getattr(obj, "claim", None)
        return str(claim.pharmacist) if claim else None


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reasons = serializers.ListField(child=serializers.CharField(max_length=300), required=False, default=list)
    overrides = serializers.DictField(child=serializers.CharField(max_length=300), required=False, default=dict)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ClaimOutSerializer(serializers.Serializer):
    claimed_by = serializers.CharField(help_text="The pharmacist who holds the prescription")
    expires_at = serializers.DateTimeField(help_text="Until then a decision by anyone else is a 409")


class DecisionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    status = serializers.CharField(help_text="The prescription's status after the decision")


class BatchApprovedSerializer(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField(), help_text="The ids approved")


def _get(request, pk):
    try:
        return audit_visible_prescription(request.user, pk)
    except Prescription.DoesNotExist:
        raise NotFound() from None


class AuditQueueView(generics.ListAPIView):
    """Prescriptions waiting for the pharmacist's institution, highest risk and longest wait first."""

    permission_classes = [CapabilityPermission.of("final_audit")]
    serializer_class = QueueItemSerializer

    def get_queryset(self):
        return audit_queue_for(self.request.user)


class AuditClaimView(APIView):
    permission_classes = [CapabilityPermission.of("final_audit")]

    @extend_schema(request=None, responses={200: ClaimOutSerializer, 409: error_response(409)})
    def post(self, request, pk):
        prescription = _get(request, pk)
        claim = audit_claim(pharmacist=request.user, prescription=prescription)
        return Response(ClaimOutSerializer({"claimed_by": str(claim.pharmacist), "expires_at": claim.expires_at}).data)


class AuditDecisionView(APIView):
    """Approve or reject. 409 when another pharmacist holds or has decided the prescription."""

    permission_classes = [CapabilityPermission.of("final_audit")]

    @extend_schema(request=DecisionSerializer, responses={200: DecisionOutSerializer, 409: error_response(409)})
    def post(self, request, pk):
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prescription = _get(request, pk)
        decision = audit_decide(pharmacist=request.user, prescription=prescription, **serializer.validated_data)
        out = {"id": prescription.pk, "decision": decision.decision, "status": prescription.status}
        return Response(DecisionOutSerializer(out).data)


class BatchApproveSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_field(), max_length=200)


class AuditBatchApproveView(APIView):
    """Approve the given prescriptions that have no findings; the others are left in the queue."""

    permission_classes = [CapabilityPermission.of("final_audit")]

    @extend_schema(request=BatchApproveSerializer, responses=BatchApprovedSerializer)
    def post(self, request):
        serializer = BatchApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        queue = audit_queue_for(request.user).filter(pk__in=serializer.validated_data["ids"])
        decided = audit_batch_approve(pharmacist=request.user, prescriptions=list(queue))
        return Response(BatchApprovedSerializer({"approved": [d.prescription_id for d in decided]}).data)
