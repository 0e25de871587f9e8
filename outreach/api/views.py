"""The schedule's API: the sessions a signed-in user sees (schedule managers create, change and
cancel them), and a township's coming sessions for anyone (a WeChat mini-program, a poster's QR
code). Views parse and call outreach.services / outreach.selectors."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CapabilityPermission, institutions_visible_to
from core.schema import error_response

from ..filters import SessionFilter
from ..selectors import coming_sessions, public_centre, sessions_for
from ..services import session_cancel, session_save
from .serializers import SessionInSerializer, SessionSerializer, TownshipScheduleSerializer

MANAGER = CapabilityPermission.of("manage_schedule")
READER = CapabilityPermission.of("view_schedule")


def _session(user, pk):
    session = sessions_for(user).filter(pk=pk).first()
    if session is None:
        raise NotFound()
    return session


def _save(request, data: dict, session=None):
    """Look the expert and the centre up (an id the caller cannot reach is a 400 at its field, as
    one that does not exist) and save through outreach.services.session_save."""
    expert = get_user_model().objects.filter(pk=data["expert"], is_active=True).select_related("institution").first()
    institution = institutions_visible_to(request.user).filter(pk=data["institution"]).first()
    missing = {}
    if expert is None:
        missing["expert"] = [_("No such clinician.")]
    if institution is None:
        missing["institution"] = [_("No such health centre in your institutions.")]
    if missing:
        raise ValidationError(missing)
    return session_save(
        actor=request.user,
        session=session,
        expert=expert,
        institution=institution,
        date=data["date"],
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        note=data["note"],
    )


class SessionListCreateView(generics.ListCreateAPIView):
    """GET: the visiting-expert sessions of the user's institutions and the user's own, by date
    (filters: institution, expert, from, to). POST: a new session (schedule managers); an expert
    already sitting elsewhere at that time is a 400 at `starts_at` naming that session."""

    permission_classes = [READER]
    serializer_class = SessionSerializer
    filterset_class = SessionFilter

    def get_permissions(self):
        if self.request.method == "POST":
            return [MANAGER()]
        return super().get_permissions()

    def get_queryset(self):
        return sessions_for(self.request.user)

    @extend_schema(request=SessionInSerializer, responses={201: SessionSerializer})
    def post(self, request):
        given = SessionInSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        session = _save(request, given.validated_data)
        return Response(SessionSerializer(_session(request.user, session.pk)).data, status=status.HTTP_201_CREATED)


class SessionDetailView(APIView):
    """GET: one session. PATCH: change any of its fields (schedule managers of its centre)."""

    permission_classes = [READER]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [MANAGER()]
        return super().get_permissions()

    @extend_schema(responses={200: SessionSerializer})
    def get(self, request, pk):
        return Response(SessionSerializer(_session(request.user, pk)).data)

    @extend_schema(request=SessionInSerializer(partial=True), responses={200: SessionSerializer})
    def patch(self, request, pk):
        session = _session(request.user, pk)
        current = {
            "expert": session.expert_id,
            "institution": session.institution_id,
            "date": session.date,
            "starts_at": session.starts_at,
            "ends_at": session.ends_at,
            "note": session.note,
        }
        given = SessionInSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        _save(request, current | given.validated_data, session=session)
        return Response(SessionSerializer(_session(request.user, pk)).data)


class SessionCancelView(APIView):
    """Cancel a session: it stays listed with `cancelled_at` and no longer holds the expert's time."""

    permission_classes = [MANAGER]

    @extend_schema(request=None, responses={200: SessionSerializer})
    def post(self, request, pk):
        session_cancel(actor=request.user, session=_session(request.user, pk))
        return Response(SessionSerializer(_session(request.user, pk)).data)


class TownshipSessionsView(APIView):
    """The coming eight weeks of visiting-expert sessions at one township or central health
    centre, by its code: for anyone, no sign-in; the expert's name and institution, nothing private."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(responses={200: TownshipScheduleSerializer, 404: error_response(404)})
    def get(self, request, code):
        centre = public_centre(code)
        if centre is None:
            raise NotFound()
        return Response(TownshipScheduleSerializer({"centre": centre, "sessions": coming_sessions(centre)}).data)
