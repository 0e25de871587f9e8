"""Row ids taken from user input (query strings, forms, JSON)."""

from rest_framework import serializers

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


def id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def idempotency_key(value) -> str:
    """A client's idempotency key as stored and compared: text of at most 64 characters; "" means
    none was given."""
    return str(value or "")[:64]
