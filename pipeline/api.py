"""The events API: a station step recorded through the step table (pipeline.steps.STEPS)."""

import json

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from audit.selectors import audit_outcome, audit_summary, decision_summary
from core.api import CheaplyCopiedSerializer, TextField, json_object, request_idempotency_key
from core.input import FormParser, JSONParser, MultiPartParser
from core.schema import error_response
from prescriptions.api.prescription_serializers import PrescriptionDetailSerializer
from prescriptions.models import Prescription
from prescriptions.selectors import prescription_detail, prescription_for_steps
from prescriptions.services import prescription_record_step

from .event_bodies import BODIES, STEP_BODY, StationStepUpload
from .steps import STEPS


class RecordedEventSerializer(CheaplyCopiedSerializer):
    id = serializers.IntegerField()
    stage = serializers.CharField()
    actor = serializers.CharField(source="actor_name")
    at = serializers.DateTimeField()
    data = serializers.JSONField()


class PrescriptionEventView(APIView):
    """Record a station step: `{"stage": "...", ...stage data}`. Each stage's body, and the
    limits that need an `ack_reason`, are in the schema's StationStep; a step with a photo is
    multipart (StationStepUpload). 201 with the event; 200 with the same event for a repeat (same
    Idempotency-Key, or the same stage twice in a row); 409 for a step out of order; 403 for a
    role or institution that may not record it; 400 with field errors for bad data."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"application/json": STEP_BODY, "multipart/form-data": StationStepUpload},
        responses={201: RecordedEventSerializer, 200: RecordedEventSerializer, 409: error_response(409)},
    )
    def post(self, request, pk):
        prescription = prescription_for_steps(request.user, pk)
        if prescription is None:
            raise NotFound()
        body = json_object(request)
        data = {key: body.get(key) for key in body if key not in request.FILES}
        if "weights" in data and isinstance(data["weights"], str):  # multipart sends JSON as text
            try:
                data["weights"] = json.loads(data["weights"])
            except ValueError:
                raise ValidationError({"weights": ["Send the weights as a JSON list."]}) from None
        data["idempotency_key"] = request_idempotency_key(request, data)
        stage = str(data.get("stage", ""))
        refuse_what_is_not_text(stage, data)
        event, created = prescription_record_step(
            actor=request.user,
            prescription=prescription,
            stage=stage,
            data=data,
            files=request.FILES,
            recorder=STEPS.get(stage),
        )
        return Response(
            RecordedEventSerializer(event).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def refuse_what_is_not_text(stage: str, data: dict) -> None:
    """The fields the stage's body documents as text must be text: a number or an object given
    for a tank or a reason is a 400 at the field, never stored as "0" or "{}". The step's own
    rules (required fields, limits) are its recorder's."""
    body = BODIES.get(stage)
    if body is None:
        return
    errors = {
        name: [str(field.error_messages["invalid"])]
        for name, field in body._declared_fields.items()  # read only: no per-request copies
        if isinstance(field, TextField) and data.get(name) is not None and not isinstance(data[name], str)
    }
    if errors:
        raise ValidationError(errors)


class PrescriptionWithAuditSerializer(PrescriptionDetailSerializer):
    """The prescription with its machine audit and the pharmacist's decision."""

    audit = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()

    class Meta(PrescriptionDetailSerializer.Meta):
        fields = [*PrescriptionDetailSerializer.Meta.fields, "audit", "decision"]

    def get_audit(self, obj) -> dict | None:
        return audit_summary(self.context["outcome"][0])

    def get_decision(self, obj) -> dict | None:
        return decision_summary(self.context["outcome"][1])


class PrescriptionDetailView(APIView):
    permission_classes = [CapabilityPermission.of("view_patients")]

    @extend_schema(responses=PrescriptionWithAuditSerializer)
    def get(self, request, pk):
        try:
            prescription = prescription_detail(request.user, pk)
        except Prescription.DoesNotExist:
            raise NotFound() from None
        outcome = audit_outcome(prescription)
        return Response(PrescriptionWithAuditSerializer(prescription, context={"outcome": outcome}).data)
