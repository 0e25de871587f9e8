"""The token endpoint: a HIS trades a username and password for an API token."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_response

from . import security_log
from .services import api_token_issue


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text=_("Which system will hold the token.")
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("The secret: shown this once, never again."))
    name = serializers.CharField()
    expires = serializers.DateTimeField()


class TokenObtainView(APIView):
    """POST {username, password, name?} -> {token, name, expires}. Each call issues a new token
    (the secret of an earlier one is not kept, so it cannot be handed out again); the sign-in is
    throttled like the pages' (django-axes)."""

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer, 429: error_response(429)})
    def post(self, request):
        given = TokenRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        # The Django request, not DRF's wrapper: django-axes marks a locked-out sign-in on it, and
        # its middleware answers with the lockout response (accounts.lockout).
        user = authenticate(
            request=request._request,
            username=given.validated_data["username"],
            password=given.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Unable to log in with provided credentials.")]}, code="authorization"
            )
        token, secret = api_token_issue(user=user, name=given.validated_data.get("name", ""))
        security_log.logged_in(sender=type(self), request=request, user=user)
        return Response(TokenSerializer({"token": secret, "name": token.name, "expires": token.expires}).data)
