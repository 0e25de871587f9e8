"""The OpenAPI schema's side of the API conventions (core.api): every operation documents the error
answers it can give, each in the one envelope {"detail": "...", "errors": {"field.path": ["..."]}}.

The answers any operation can give are added here, from what the operation is: a 400 (invalid
fields, or what core.input refuses in the path, query or body), a 403 where a user must be signed
in (DRF answers 403, not 401, for missing or refused credentials: the session comes first and
sends no WWW-Authenticate), a 404 for an id in the path or a page past the end of a list, a 413
for a body over the upload limit, a 503 while the database is unavailable. The answers only some
views give — a 409 for a step out of order or someone else first, a 429 for a locked-out sign-in —
the view declares itself with `error_response` in its `extend_schema(responses=...)`."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("What went wrong, for a person to read."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_('The messages of each refused field by its path, e.g. "items[3].grams"; empty when none.'),
    )


DESCRIPTIONS = {
    400: _("Invalid fields, or a NUL, an unpaired surrogate or an over-long value in the request."),
    403: _("Not signed in, a refused token, or a role or institution that may not do this."),
    404: _("No such object that you may see, or a page past the end of the list."),
    409: _("Conflict: a step out of order, or someone else was first."),
    413: _("The request body is over the upload limit."),
    415: _("The body's media type (Content-Type) is missing or not one the operation reads."),
    429: _("Too many failed sign-ins: locked out for a while (Retry-After)."),
    503: _("The database is briefly unavailable; try again after Retry-After."),
}

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def error_response(status: int) -> OpenApiResponse:
    """An error answer in the one envelope, for a view's `extend_schema(responses={status: ...})`."""
    return OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[status])


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, with the error answers every operation can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            responses.setdefault(str(status), self._get_response_for_code(error_response(status), str(status)))
        return responses

    def error_statuses(self) -> list[int]:
        statuses = [400]
        auth = self.get_auth()
        if auth and {} not in auth:  # `{}`: the operation also takes anonymous requests
            statuses.append(403)
        paginated = self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
        if "{" in self.path or paginated:
            statuses.append(404)
        if self.method in UNSAFE_METHODS:
            statuses += [413, 415]
        statuses.append(503)
        return statuses
