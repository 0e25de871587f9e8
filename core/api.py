"""API conventions shared by every app: pagination and JSON errors with field paths."""

import copy

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import Conflict
from .ids import idempotency_key
from .input import MESSAGE_LENGTH, echo


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, except that a filter given twice (`?herb=1&herb=2`) is a 400 at
    that filter: django-filter would quietly use the last value, and the caller could not tell
    which of its values the list was filtered by."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            params = request.query_params
            repeated = [name for name in filterset_class.base_filters if len(params.getlist(name)) > 1]
            if repeated:
                raise exceptions.ValidationError({name: [_("Give this filter once.")] for name in repeated})
        return super().filter_queryset(request, queryset, view)


class Pagination(pagination.PageNumberPagination):
    """DRF's page numbers. A `page_size` that is not a whole number from 1 is a 400 at the field
    (DRF would quietly use the default), one over max_page_size is cut to it, as documented; an
    empty `page` is a 404 like any other page that is not one."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if not all(value.isascii() and value.isdigit() and int(value) >= 1 for value in values):
            raise exceptions.ValidationError({self.page_size_query_param: [_("Give a whole number from 1.")]})
        return min(int(values[-1]), self.max_page_size)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param, None) == "":  # DRF would read it as page 1
            raise exceptions.NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"{parameter['description']} (≤ {self.max_page_size})"
        return parameters


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    """A file sent in a multipart body (a photo), documented as binary wherever its serializer is
    used: a FileField alone would read as a URL in a component shared with responses."""


class CheaplyCopiedSerializer(serializers.Serializer):
    """A serializer for a body checked on every call of a hot endpoint (the submit). DRF gives each
    instance a deep copy of the declared fields, running every field's constructor again, which
    costs more than checking the body; here each instance takes a shallow copy of each declared
    field (and of a list's child), which binding then names and attaches to this instance alone.
    The declared fields are never bound or changed, so the copies share only what stays fixed
    (validators, choices, messages)."""

    def get_fields(self):
        return {name: _copied(field) for name, field in self._declared_fields.items()}


def _copied(field):
    clone = copy.copy(field)
    clone.__dict__.pop("fields", None)  # a nested serializer's own copies, made when first read
    if hasattr(field, "child"):  # bound to its list when the list was made: attached to this copy
        clone.child = _copied(field.child)
        clone.child.parent = clone
    return clone


class TextField(serializers.CharField):
    """Text, as the schema says: a number, a list or an object is refused at the field, never
    turned into "0" or "{}" the way DRF's CharField turns numbers into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def flatten_errors(detail, prefix=""):
    """Turn DRF's nested error detail into {"items[3].grams": ["..."]}. A message is cut to
    MESSAGE_LENGTH: some quote the value sent ("“…” is not a valid choice"), which may be 1 MB."""
    flat = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                path = prefix or "non_field_errors"
            elif isinstance(key, int):  # ListField and DictField report rows by index
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else key
            flat.update(flatten_errors(value, path))
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_errors(item, f"{prefix}[{index}]"))
    elif isinstance(detail, list):
        if detail:
            flat.setdefault(prefix or "non_field_errors", []).extend(echo(item, MESSAGE_LENGTH) for item in detail)
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(echo(detail, MESSAGE_LENGTH))
    return flat


def json_object(request) -> dict:
    """The request body as an object; anything else (a JSON list, a string) is a 400."""
    if not hasattr(request.data, "get") or isinstance(request.data, (list, str)):
        raise DjangoValidationError({"non_field_errors": ["Send a JSON object."]})
    return request.data


def request_idempotency_key(request, data) -> str:
    """The idempotency key of an API request: the `idempotency_key` field, else the
    `Idempotency-Key` header."""
    value = data.get("idempotency_key")
    if value is None or value == "":  # a number or a list is no key: idempotency_key refuses it
        value = request.headers.get("Idempotency-Key", "")
    return idempotency_key(value)


def exception_handler(exc, context):
    """Every API error is JSON: {"detail": "...", "errors": {"field.path": ["..."]}}.

    The domain errors map here once for every view: Django's ValidationError (raised by services)
    is a 400 reported like a serializer error, PermissionDenied a 403, Http404 a 404, and a
    Conflict (a step out of order, someone else first) a 409.
    """
    if isinstance(exc, Conflict):
        return Response({"detail": exc.message, "errors": {}}, status=409)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _("The request has invalid fields."), "errors": flatten_errors(exc.detail)}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": echo(response.data["detail"], MESSAGE_LENGTH), "errors": {}}
    return response


def not_found(request, exception):
    """Django's handler404. An API URL that no route matches (an id in other digits, `/herbs/abc/`)
    answers in the API's error envelope like the API's own 404s; a page gets Django's."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail), "errors": {}}, status=404)
    return defaults.page_not_found(request, exception)
