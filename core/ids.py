"""Row ids and whole numbers taken from user input (query strings, forms, JSON)."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .input import whole_number

# BigAutoField's range. A larger number names no row, and SQLite cannot even bind it.
MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """The id written in `value`, or None when it is not one."""
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def parse_ids(values) -> list[int]:
    """The ids among `values`; anything else is left out."""
    return [number for number in map(parse_id, values) if number is not None]


class WholeNumberField(serializers.IntegerField):
    """DRF's IntegerField reading only what `core.input.whole_number` reads: 2.9 or "2.9" is
    refused (DRF would refuse it too, but keep 2.0), and so are digits of other scripts ("١٢",
    "１２"), which Python's int() would read."""

    def to_internal_value(self, data):
        number = whole_number(data)
        if number is None:
            self.fail("invalid")
        return number


class WholeNumberFormField(forms.IntegerField):
    """Django's IntegerField reading only what `core.input.whole_number` reads."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = whole_number(value)
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


def id_field(**kwargs) -> serializers.IntegerField:
    return WholeNumberField(min_value=1, max_value=MAX_ID, **kwargs)


IDEMPOTENCY_KEY_LENGTH = 64


class IdempotencyKeyField(serializers.CharField):
    """A client's idempotency key in a body: text only (DRF's CharField would turn 12.5 into
    "12.5"), at most IDEMPOTENCY_KEY_LENGTH characters; blank means none."""

    def __init__(self, **kwargs):
        kwargs.update(max_length=IDEMPOTENCY_KEY_LENGTH, required=False, allow_blank=True, default="")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def idempotency_key(value) -> str:
    """A client's idempotency key as stored and compared: text of at most 64 characters; "" means
    none was given. Anything else (a number, a list, a longer text) raises ValidationError at
    `idempotency_key`: cut or converted, two different keys could become one."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > IDEMPOTENCY_KEY_LENGTH:
        raise ValidationError(
            {
                "idempotency_key": [
                    _("Give the idempotency key as text of at most %(n)d characters.") % {"n": IDEMPOTENCY_KEY_LENGTH}
                ]
            }
        )
    return value


# An integer in the schema, not NumberFilter's "number", with the bounds the filter reads.
@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A row id in a query string (django-filter): a whole number from 1 to MAX_ID, anything else
    a form error at the filter's own field (a 400 there on the API), never a database error."""

    field_class = WholeNumberFormField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

    def get_max_validator(self):
        return None  # max_value above is the bound
