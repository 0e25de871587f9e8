"""The constitution API (for a HIS or a WeChat mini-program): a patient's assessments, recording
one, the questionnaire, and an invitation link for the patient's phone. Views parse, call a
service or selector, render; the scope is the patients' own rule."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission
from core.api import json_object
from patients.permissions import patients_visible_to

from .. import questionnaire
from ..models import Mode
from ..selectors import assessments_of
from ..services import assessment_record, invite_create, invite_url
from .serializers import AnswersSerializer, AssessmentSerializer, InviteSerializer, QuestionnaireSerializer

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
        body = {
            "version": questionnaire.version(),
            "sex": sex,
            "instruction": questionnaire.data()["instruction"],
            "options": questionnaire.options(),
            "sections": questionnaire.sections_for(sex),
        }
        return Response(QuestionnaireSerializer(body).data)
