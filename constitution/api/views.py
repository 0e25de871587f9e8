"""The constitution API (for a HIS or a WeChat mini-program): a patient's assessments, recording
one, the questionnaire, and an invitation link for the patient's phone. Views parse, call a
service or selector, render; the scope is the patients' own rule."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.api import json_object
from core.schema import ErrorSerializer
from patients.permissions import patients_visible_to

from .. import questionnaire
from ..models import Mode
from ..selectors import VALID, assessments_of, invite_lookup
from ..services import assessment_record, invite_create, invite_requests_exceeded, invite_url
from .serializers import (
    AnswersSerializer,
    AssessmentSerializer,
    InviteAnswersSerializer,
    InviteQuestionnaireSerializer,
    InviteResultSerializer,
    InviteSerializer,
    QuestionnaireSerializer,
)

INVALID = OpenApiResponse(description="Missing or invalid answers, each at `answers.<item id>`")
REFUSED = OpenApiResponse(description="Without `manage_patients`")
HIDDEN = OpenApiResponse(description="No such patient in the caller's scope")


def _patient(request, pk):
    return get_object_or_404(patients_visible_to(request.user), pk=pk)


class PatientConstitutionView(APIView):
    """A patient's constitution assessments, newest first; POST records one filled in with the
    clinician (mode assisted) and answers 201 with the scores and result."""

    permission_classes = [CapabilityPermission.of("view_patients")]

    @extend_schema(responses={200: AssessmentSerializer(many=True), 404: HIDDEN})
    def get(self, request, pk):
        patient = _patient(request, pk)
        return Response(AssessmentSerializer(assessments_of(request.user, patient), many=True).data)

    @extend_schema(
        request=AnswersSerializer,
        responses={201: AssessmentSerializer, 400: INVALID, 403: REFUSED, 404: HIDDEN},
    )
    def post(self, request, pk):
        patient = _patient(request, pk)
        answers = json_object(request).get("answers")
        assessment = assessment_record(patient=patient, answers=answers, mode=Mode.ASSISTED, actor=request.user)
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class PatientConstitutionInviteView(APIView):
    """A single-use link (24 h) for the patient to answer the questionnaire on their own phone."""

    permission_classes = [CapabilityPermission.of("view_patients")]

    @extend_schema(request=None, responses={201: InviteSerializer, 403: REFUSED, 404: HIDDEN})
    def post(self, request, pk):
        invite = invite_create(actor=request.user, patient=_patient(request, pk))
        body = {"token": invite.token, "url": invite_url(invite.token), "expires_at": invite.expires_at}
        return Response(InviteSerializer(body).data, status=status.HTTP_201_CREATED)


class QuestionnaireView(APIView):
    """The questionnaire of ZYYXH/T 157-2009 for one sex: the five answer options and the items,
    one section per type (an item shared by two types appears once). For the callers that read
    patients, who are the ones to ask it."""

    permission_classes = [CapabilityPermission.of("view_patients")]

    @extend_schema(
        parameters=[OpenApiParameter("sex", OpenApiTypes.STR, enum=["F", "M"], required=True)],
        responses={200: QuestionnaireSerializer, 400: OpenApiResponse(description="sex is not F or M")},
    )
    def get(self, request):
        sex = request.query_params.get("sex", "")
        if sex not in questionnaire.SEXES:
            raise ValidationError({"sex": [_("Choose F or M.")]})
        return Response(QuestionnaireSerializer(_questionnaire(sex)).data)


GONE = OpenApiResponse(ErrorSerializer, description="The link has expired or has already been used")
NO_INVITE = OpenApiResponse(ErrorSerializer, description="No invitation has this token")
TOO_MANY = OpenApiResponse(ErrorSerializer, description="Too many requests from this address (Retry-After)")


def _invite(request, token):
    """The valid invitation for `token`: 429 past the rate limit, 404 for a token that does not
    exist, 410 for one expired or used (an APIException each, answered in the error envelope)."""
    if invite_requests_exceeded(request):
        raise Throttled(wait=60)
    invite, state = invite_lookup(token)
    if invite is None:
        raise NotFound()
    if state != VALID:
        raise InviteGone()
    return invite


class InviteGone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = gettext_lazy("This link has expired or has already been used.")
    default_code = "gone"


def _questionnaire(sex: str) -> dict:
    return {
        "version": questionnaire.version(),
        "sex": sex,
        "instruction": questionnaire.data()["instruction"],
        "options": questionnaire.options(),
        "sections": questionnaire.sections_for(sex),
    }


class InviteQuestionnaireView(APIView):
    """The patient's own door, for a WeChat mini-program opened from the invitation's QR code: no
    sign-in, the token is the key. GET: who it is for (masked), the consent and the questions of the
    patient's sex. POST {consent: true, answers}: scores and stores the answers once (the link is then
    used) and answers the type with its advice; an unanswered item is a 400 at `answers.<id>`."""

    permission_classes = [AllowAny]
    authentication_classes = []  # the token in the path is the credential; no cookie, no CSRF

    @extend_schema(responses={200: InviteQuestionnaireSerializer, 404: NO_INVITE, 410: GONE, 429: TOO_MANY})
    def get(self, request, token):
        invite = _invite(request, token)
        body = {
            "patient": invite.patient.masked_name,
            "expires_at": invite.expires_at,
            "consent": [str(paragraph) for paragraph in questionnaire.consent()],
            "questionnaire": _questionnaire(invite.patient.sex),
        }
        return _no_store(Response(InviteQuestionnaireSerializer(body).data))

    @extend_schema(
        request=InviteAnswersSerializer,
        responses={201: InviteResultSerializer, 400: INVALID, 404: NO_INVITE, 410: GONE, 429: TOO_MANY},
    )
    def post(self, request, token):
        invite = _invite(request, token)
        given = InviteAnswersSerializer(data=json_object(request))
        given.is_valid(raise_exception=True)
        if not given.validated_data["consent"]:
            raise ValidationError({"consent": [_("Please tick the box to agree before you start.")]})
        try:
            assessment = assessment_record(
                patient=invite.patient, answers=given.validated_data["answers"], mode=Mode.SELF, invite=invite
            )
        except ValidationError as error:
            if any(key.startswith("answers") for key in getattr(error, "error_dict", {})):
                raise
            raise InviteGone() from None  # used a moment ago by another submit
        body = {
            "taken_at": assessment.taken_at,
            "summary": assessment.summary,
            "result": assessment.result,
            "scores": assessment.scores,
            "advice": questionnaire.advice_for(assessment.result),
            "advice_source": questionnaire.advice_source(),
        }
        return _no_store(Response(InviteResultSerializer(body).data, status=status.HTTP_201_CREATED))


def _no_store(response):
    response["Cache-Control"] = "no-store"  # answers about one's health: not kept on a shared phone
    return response
