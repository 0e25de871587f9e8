from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from . import security_log


class TokenLoginView(ObtainAuthToken):
    """DRF's token endpoint (username and password in, the user's token out), with the login in
    the security log like a sign-in on the page. Failed tries and lockouts go through Django's
    authenticate() and django-axes as on the page."""

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        security_log.logged_in(sender=type(self), request=request, user=user)
        return Response({"token": token.key})
