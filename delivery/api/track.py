"""The patient's tracking data as JSON, in the API's schema. Public (a token, no sign-in, no
session, no CSRF); the answer and its limits are those of delivery.views.track_json, which this
view hands the request to unchanged."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from ..views import track_json


class TimelineEntrySerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    done = serializers.BooleanField()
    current = serializers.BooleanField()


class ExpectedSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The median of recent prescriptions")
    earliest = serializers.DateTimeField()
    latest = serializers.DateTimeField()


class TrackedHerbSerializer(serializers.Serializer):
    name = serializers.CharField()
    grams = serializers.CharField()


class TrackingSerializer(serializers.Serializer):
    """Masked by default; `full` (after the mobile's last 4 digits) adds usage, herbs and, for a
    pickup, the pickup code."""

    number = serializers.CharField()
    patient = serializers.CharField(help_text="The masked name")
    township = serializers.CharField()
    institution = serializers.CharField()
    phone = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    stopped = serializers.BooleanField(help_text="Rejected or cancelled")
    timeline = TimelineEntrySerializer(many=True)
    expected = ExpectedSerializer(allow_null=True, help_text="None when done or with no history yet")
    decoction = serializers.CharField()
    doses = serializers.IntegerField()
    full = serializers.BooleanField()
    usage = serializers.CharField(required=False, help_text="Full view only")
    herbs = TrackedHerbSerializer(many=True, required=False, help_text="Full view only")
    pickup_code = serializers.CharField(required=False, help_text="Full view of a pickup only")


class Last4Serializer(serializers.Serializer):
    last4 = serializers.CharField(help_text="The last 4 digits of the patient's mobile")


NOT_FOUND = OpenApiResponse(description="A wrong, revoked or malformed token")
TOO_MANY = OpenApiResponse(description="Too many requests from this address (Retry-After)")


class TrackView(APIView):
    """GET: the masked view. POST {"last4"}: the full view; 403 for wrong digits, 429 after five
    tries from one address within 15 minutes."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def dispatch(self, request, *args, **kwargs):
        """Straight to the page's JSON twin: a patient's poll needs none of DRF's request
        handling (no authentication, its own JSON parsing and rate limit, JSON only), and
        wrapping it cost a sixth of the request. get and post document it."""
        return track_json(request, *args, **kwargs)

    @extend_schema(responses={200: TrackingSerializer, 404: NOT_FOUND, 429: TOO_MANY})
    def get(self, request, token):
        return track_json(request._request, token)

    @extend_schema(
        request=Last4Serializer,
        responses={
            200: TrackingSerializer,
            400: OpenApiResponse(description="Not a JSON object"),
            403: OpenApiResponse(description="Wrong digits"),
            404: NOT_FOUND,
            429: TOO_MANY,
        },
    )
    def post(self, request, token):
        return track_json(request._request, token)
