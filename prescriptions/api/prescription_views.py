from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.api import json_object, request_idempotency_key
from core.input import MultiPartParser
from core.schema import error_response
from patients.permissions import patients_visible_to

from ..filters import PrescriptionFilter
from ..models import Prescription
from ..selectors import (
    prescription_detail,
    prescription_search,
)
from ..services import (
    consult_attach_photo,
    prescription_cancel,
    prescription_precheck,
    prescription_submit_for,
)
from ..services.drafting import PrescriptionForm
from .prescription_serializers import (
    PrecheckOutSerializer,
    PrecheckSerializer,
    PrescriptionInSerializer,
    PrescriptionListSerializer,
    submit_response,
)


def _values(request, serializer):
    values = dict(serializer.validated_data)
    values["idempotency_key"] = request_idempotency_key(request, values)
    return values


class PrescriptionListCreateView(generics.ListCreateAPIView):
    """GET: prescriptions the user may see (filters: status, patient, date_from, date_to, q).
    POST: submit a prescription (HIS integration). The same Idempotency-Key (header or field)
    returns the first prescription (200) instead of creating another."""

    permission_classes = [CapabilityPermission.of("view_patients")]
    serializer_class = PrescriptionListSerializer
    filterset_class = PrescriptionFilter

    def get_permissions(self):
        if self.request.method == "POST":
            return [CapabilityPermission.of("prescribe")()]
        return super().get_permissions()

    def get_serializer_class(self):
        return PrescriptionInSerializer if self.request.method == "POST" else PrescriptionListSerializer

    def get_queryset(self):
        return prescription_search(self.request.user)

    # 200: the same Idempotency-Key again, the first prescription.
    @extend_schema(request=PrescriptionInSerializer, responses={201: dict, 200: dict})
    def post(self, request, *args, **kwargs):
        serializer = PrescriptionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = _values(request, serializer)
        patient = values.pop("patient")
        prescription, created = prescription_submit_for(
            actor=request.user, patient=patient, form=PrescriptionForm.of(values), request=request
        )
        return Response(
            submit_response(prescription), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PrescriptionPrecheckView(APIView):
    """The audit findings and the price of a draft; nothing is saved. The patient is a registered
    patient id the caller may see, or only the clinical facts (sex, age or date of birth; the
    consult's pregnancy and weight; allergies): no name or mobile needed."""

    permission_classes = [CapabilityPermission.of("prescribe")]

    @extend_schema(request=PrecheckSerializer, responses=PrecheckOutSerializer)
    def post(self, request):
        serializer = PrecheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        patient_ref = values.pop("patient")
        allergies = values.pop("allergies")
        patient, facts = None, None
        if isinstance(patient_ref, int):
            patient = patients_visible_to(request.user).filter(pk=patient_ref).first()
            if patient is None:
                raise ValidationError({"patient": ["No such patient in your institution."]})
        else:
            facts = patient_ref
        result = prescription_precheck(
            actor=request.user, patient=patient, facts=facts, allergies=allergies, form=PrescriptionForm.of(values)
        )
        price = result["price"]
        return Response(
            {
                "findings": result["findings"],
                "price": {key: str(price[key]) for key in ("herb_total", "decoction_fee", "delivery_fee", "total")}
                | {"lines": [str(line) for line in price["lines"]]},
            }
        )


class PrescriptionCancelView(APIView):
    permission_classes = [CapabilityPermission.of("prescribe")]

    @extend_schema(request=dict, responses={200: dict, 409: error_response(409)})
    def post(self, request, pk):
        try:
            prescription = prescription_detail(request.user, pk)
        except Prescription.DoesNotExist:
            raise NotFound() from None
        prescription_cancel(
            actor=request.user, prescription=prescription, reason=str(json_object(request).get("reason", ""))
        )
        return Response(submit_response(prescription))


class PrescriptionReviseView(APIView):
    """Revise a rejected prescription into its next version (same body as submit)."""

    permission_classes = [CapabilityPermission.of("prescribe")]

    @extend_schema(request=PrescriptionInSerializer, responses={201: dict, 200: dict, 409: error_response(409)})
    def post(self, request, pk):
        try:
            previous = prescription_detail(request.user, pk)
        except Prescription.DoesNotExist:
            raise NotFound() from None
        data = {**json_object(request), "patient": previous.patient_id}
        serializer = PrescriptionInSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = _values(request, serializer)
        values.pop("patient")
        prescription, created = prescription_submit_for(
            actor=request.user,
            patient=previous.patient_id,
            form=PrescriptionForm.of(values),
            previous=previous,
            request=request,
        )
        return Response(
            submit_response(prescription), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PrescriptionPhotoView(APIView):
    """Attach a tongue/face photo (multipart: kind, image) to the prescription's consult."""

    permission_classes = [CapabilityPermission.of("prescribe")]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["tongue", "face", "other"]},
                    "image": {"type": "string", "format": "binary"},
                },
            }
        },
        responses={201: dict},
    )
    def post(self, request, pk):
        try:
            prescription = prescription_detail(request.user, pk)
        except Prescription.DoesNotExist:
            raise NotFound() from None
        attachment = consult_attach_photo(
            actor=request.user,
            prescription=prescription,
            kind=request.data.get("kind", ""),
            upload=request.FILES.get("image"),
        )
        return Response(
            {"id": attachment.pk, "kind": attachment.kind, "url": reverse("prescriptions:photo", args=[attachment.pk])},
            status=status.HTTP_201_CREATED,
        )
