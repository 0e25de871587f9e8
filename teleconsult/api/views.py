"""The remote consult API (a HIS or a WeChat mini-program front end): the village doctor's
requests, the expert's queue, each step, and the prescription written from a consult. Views parse
and call teleconsult.services; who may see what is teleconsult.permissions."""

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.api import json_object, request_idempotency_key
from core.schema import error_response
from prescriptions.api.prescription_serializers import PrescriptionInSerializer, submit_response
from prescriptions.services.drafting import PrescriptionForm

from .. import services
from ..filters import RemoteConsultFilter
from ..selectors import remote_consult_for, remote_consults_for, with_current_prescriptions
from .serializers import (
    AdviceSerializer,
    AnswerSerializer,
    PhotoInSerializer,
    PhotoSerializer,
    QuestionSerializer,
    RemoteConsultDetailSerializer,
    RemoteConsultInSerializer,
    RemoteConsultSerializer,
    WithdrawSerializer,
)

REQUESTER = CapabilityPermission.of("request_remote_consults")
EXPERT = CapabilityPermission.of("answer_remote_consults")
READER = CapabilityPermission.of("request_remote_consults", "answer_remote_consults")
PHOTO_FIELDS = ("tongue_photo", "face_photo", "other_photo")


def _consult(request, pk):
    consult = remote_consult_for(request.user, pk)
    if consult is None:
        raise NotFound()
    return consult


def _detail(request, pk, *, code=status.HTTP_200_OK) -> Response:
    consult = _consult(request, pk)
    return Response(RemoteConsultDetailSerializer(consult).data, status=code)


def _photos(values: dict) -> dict:
    return {field: values.pop(field, None) for field in PHOTO_FIELDS}


class RemoteConsultListCreateView(generics.ListAPIView):
    """GET: the consults the user sees — their clinic's requests, and those routed to them or (with
    no expert named) to their hospital; waiting ones first (filter: status). POST: a village
    doctor's request, as JSON or multipart with `tongue_photo`, `face_photo`, `other_photo`.
    The same Idempotency-Key (header or field) returns the first consult (200)."""

    serializer_class = RemoteConsultSerializer
    permission_classes = [READER]

    def get_permissions(self):
        if self.request.method == "POST":
            return [REQUESTER()]
        return super().get_permissions()

    filterset_class = RemoteConsultFilter

    def get_queryset(self):
        return remote_consults_for(self.request.user)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_current_prescriptions(page) if page is not None else None

    @extend_schema(
        request={"application/json": RemoteConsultInSerializer, "multipart/form-data": RemoteConsultInSerializer},
        responses={201: RemoteConsultDetailSerializer, 200: RemoteConsultDetailSerializer},
    )
    def post(self, request):
        given = RemoteConsultInSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        values = dict(given.validated_data)
        values["idempotency_key"] = request_idempotency_key(request, values)
        photos = _photos(values)
        consult, created = services.remote_consult_request(
            actor=request.user,
            patient_id=values.pop("patient"),
            values=values,
            photos=photos,
            routed_institution=values.pop("routed_institution", None),
            routed_expert=values.pop("routed_expert", None),
        )
        return _detail(request, consult.pk, code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RemoteConsultDetailView(APIView):
    """One consult with its photos and every step (its trace)."""

    permission_classes = [READER]

    @extend_schema(responses={200: RemoteConsultDetailSerializer})
    def get(self, request, pk):
        return _detail(request, pk)


class _StepView(APIView):
    """A step with a short text body (or none): parse, call the service, answer the consult."""

    serializer = None
    service = None
    field = None
    permission_classes = [EXPERT]

    def post(self, request, pk):
        consult = _consult(request, pk)
        extra = {}
        if self.serializer is not None:
            given = self.serializer(data=json_object(request))
            given.is_valid(raise_exception=True)
            extra[self.field] = given.validated_data[self.field]
        type(self).service(actor=request.user, consult=consult, **extra)
        return _detail(request, pk)


def _step_schema(serializer):
    return extend_schema(request=serializer, responses={200: RemoteConsultDetailSerializer, 409: error_response(409)})


class RemoteConsultClaimView(_StepView):
    """An expert it is routed to claims the consult; one claim wins, a second is a 409 naming
    the expert who holds it."""

    service = services.remote_consult_claim

    @_step_schema(None)
    def post(self, request, pk):
        return super().post(request, pk)


class RemoteConsultReleaseView(_StepView):
    """The expert who holds the consult gives it back to the queue."""

    service = services.remote_consult_release

    @_step_schema(None)
    def post(self, request, pk):
        return super().post(request, pk)


class RemoteConsultQuestionView(_StepView):
    """The expert who holds the consult asks the village doctor a question."""

    serializer, service, field = QuestionSerializer, services.remote_consult_ask, "question"

    @_step_schema(QuestionSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class RemoteConsultAdviceView(_StepView):
    """The expert answers without a prescription; the consult closes."""

    serializer, service, field = AdviceSerializer, services.remote_consult_advise, "advice"

    @_step_schema(AdviceSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class RemoteConsultWithdrawView(_StepView):
    """The village doctor withdraws the consult."""

    serializer, service, field = WithdrawSerializer, services.remote_consult_withdraw, "reason"
    permission_classes = [REQUESTER]

    @_step_schema(WithdrawSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class RemoteConsultAnswerView(APIView):
    """The village doctor answers the expert's question (JSON, or multipart with photos)."""

    permission_classes = [REQUESTER]

    @extend_schema(
        request={"application/json": AnswerSerializer, "multipart/form-data": AnswerSerializer},
        responses={200: RemoteConsultDetailSerializer, 409: error_response(409)},
    )
    def post(self, request, pk):
        consult = _consult(request, pk)
        given = AnswerSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        values = dict(given.validated_data)
        services.remote_consult_reply(
            actor=request.user, consult=consult, answer=values["answer"], photos=_photos(values)
        )
        return _detail(request, pk)


class RemoteConsultPhotoListView(APIView):
    """Add a photo (multipart: kind, image) while the consult is open."""

    permission_classes = [REQUESTER]

    @extend_schema(
        request={"multipart/form-data": PhotoInSerializer},
        responses={201: PhotoSerializer, 409: error_response(409)},
    )
    def post(self, request, pk):
        consult = _consult(request, pk)
        given = PhotoInSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        photo = services.remote_consult_add_photo(
            actor=request.user, consult=consult, kind=given.validated_data["kind"], upload=given.validated_data["image"]
        )
        return Response(PhotoSerializer(photo).data, status=status.HTTP_201_CREATED)


class RemoteConsultPhotoView(APIView):
    """One photo of a consult the user sees, as JPEG; never cached."""

    permission_classes = [READER]

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request, pk, photo):
        found = _consult(request, pk).photos.filter(pk=photo).first()
        if found is None:
            raise NotFound()
        response = FileResponse(found.image.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"  # a patient's photo: never on disk
        return response


class RemoteConsultPrescriptionView(APIView):
    """The expert who holds the consult submits its prescription: the body of a prescription
    submit (its `patient` is the consult's), for the village clinic. The same Idempotency-Key
    returns the prescription it made (200)."""

    permission_classes = [CapabilityPermission.of("prescribe")]

    @extend_schema(request=PrescriptionInSerializer, responses={201: dict, 200: dict, 409: error_response(409)})
    def post(self, request, pk):
        consult = _consult(request, pk)
        given = PrescriptionInSerializer(data={**json_object(request), "patient": consult.patient_id})
        given.is_valid(raise_exception=True)
        values = dict(given.validated_data)
        values["idempotency_key"] = request_idempotency_key(request, values)
        prescription, created = services.remote_consult_prescribe(
            actor=request.user, consult=consult, form=PrescriptionForm.of(values), request=request
        )
        return Response(
            submit_response(prescription), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
