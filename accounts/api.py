"""The token endpoint: POST {username, password} → {token} for other systems."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

from core.input import FormParser, JSONParser, MultiPartParser

from .models import User


class TokenRequestSerializer(AuthTokenSerializer):
    """DRF's {username, password}, the username no longer than a username can be: a longer one
    is a 400 at `username` before anything looks it up (django-axes would try to store it in its
    255-character column for the failed attempt)."""

    username = serializers.CharField(
        label=_("Username"), write_only=True, max_length=User._meta.get_field("username").max_length
    )


class ObtainToken(ObtainAuthToken):
    """DRF's token view reading the body with the API's own parsers (core.input)."""

    serializer_class = TokenRequestSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]


obtain_token = ObtainToken.as_view()
