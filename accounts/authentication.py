"""The API's token authentication: DRF's `Authorization: Token <secret>` header, checked against
the platform's own tokens (accounts.models.ApiToken: hashed, expiring, revocable, one per
integration)."""

from rest_framework import authentication, exceptions

from .exceptions import TokenRefused
from .services import api_token_authenticate


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token header; the token rules are accounts.services.api_token_authenticate's."""

    def authenticate_credentials(self, key):
        try:
            token = api_token_authenticate(secret=key)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(str(refused)) from None
        return (token.user, token)
