"""The one input-cleaning layer: what no request may carry, whatever the view.

Refused with a 400 before any view, form or serializer sees it (a database would answer with an
error, and PostgreSQL refuses NUL outright): a NUL character or an unpaired surrogate in the path,
a query-string or form key or value, or any JSON string or key; a query-string or form value
longer than its limit; JSON nested deeper than MAX_JSON_DEPTH; a JSON number that is not finite
(NaN, Infinity, 1e999). `core.middleware.InputCleaningMiddleware` checks the path, query string
and form data; `JSONParser` (the API's parser) and `load_json` check JSON bodies.

Whole numbers from user input are read by `whole_number`: ASCII digits only (never ² or ١٢), and a
non-integral number such as 2.9 is refused, not cut to 2."""

import json
import re
from decimal import Decimal, InvalidOperation
from itertools import accumulate

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 64
MAX_QUERY_VALUE = 2_000  # no filter reads more than a few dozen characters
MAX_FORM_VALUE = 20_000  # the longest form field is a note of a few hundred characters
ECHO_LENGTH = 200  # an error quotes at most this much of a value that was sent
MESSAGE_LENGTH = 500  # and no error message, whatever it quotes, is longer

SURROGATE = re.compile("[\ud800-\udfff]")
JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKET_DEPTH = {"[": 1, "{": 1, "]": -1, "}": -1}
ASCII_WHOLE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


class InputRefused(ValueError):
    """Values no view may see: `errors` maps where each was (a field name, `items[0].herb`; ""
    for the path, a key or the whole body) to what is wrong with it."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(next(iter(errors.values()))[0])
        self.errors = errors


def text_problem(value: str, limit: int | None = None) -> str | None:
    """Why `value` may not be used as text, or None when it may."""
    if "\x00" in value:
        return _("This value contains a NUL character, which is not allowed.")
    if not value.isascii() and SURROGATE.search(value):
        return _("This value contains an unpaired surrogate, which is not a character.")
    if limit is not None and len(value) > limit:
        return _("This value is longer than %(limit)d characters.") % {"limit": limit}
    return None


def check_text(path: str, value: str, limit: int | None = None) -> None:
    """Raise InputRefused at `path` when `value` may not be used as text."""
    problem = text_problem(value, limit)
    if problem:
        raise InputRefused({path: [problem]})


def check_query(query, *, limit: int) -> None:
    """Every key and value of a QueryDict (query string or form data); raises InputRefused with
    every parameter's problem."""
    errors = {}
    for key, values in query.lists():
        problems = [text_problem(key, limit)] + [text_problem(value, limit) for value in values]
        if any(problems):
            errors["" if problems[0] else echo(key)] = [next(problem for problem in problems if problem)]
    if errors:
        raise InputRefused(errors)


def json_depth(text: str) -> int:
    """How deep `text` nests arrays and objects, brackets inside strings not counted. Cheap for
    ordinary bodies: only a body with more brackets than MAX_JSON_DEPTH is scanned."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0
    brackets = JSON_STRING.sub("", text)
    brackets = brackets.translate({ord(c): None for c in set(brackets) - set(BRACKET_DEPTH)})
    return max(accumulate(BRACKET_DEPTH[c] for c in brackets), default=0)


def check_json_value(value, path: str = "") -> None:
    """Every string (keys too) and number of a parsed JSON value; raises InputRefused at the
    value's path (`items[0].herb`)."""
    if isinstance(value, str):
        check_text(path, value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InputRefused({path: [_("Numbers must be finite (not NaN, Infinity or out of range).")]})
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(path, key)
            check_json_value(item, f"{path}.{echo(key)}" if path else echo(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_value(item, f"{path}[{index}]")


def load_json(text: str):
    """Parse JSON text that may come from anyone. Raises InputRefused for nesting deeper than
    MAX_JSON_DEPTH and for the values above, ValueError for text that is not JSON."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InputRefused({"": [_("The JSON is nested more than %(limit)d levels deep.") % {"limit": MAX_JSON_DEPTH}]})
    value = json.loads(text)
    check_json_value(value)
    return value


def echo(value, length: int = ECHO_LENGTH) -> str:
    """`value` as an error message may quote it: cut to `length` characters."""
    text = str(value)
    return text if len(text) <= length else text[:length] + "…"


def whole_number(value) -> int | None:
    """The whole number `value` is, or None: an int (not a bool), an integral float or Decimal
    (3.0), or text of ASCII digits with an optional sign and ".0". Anything else — 2.9, "2.9",
    "²", "١٢", "１２", NaN — is None, never rounded or read as digits of another script."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        try:
            return int(value) if value == int(value) else None
        except (OverflowError, ValueError, InvalidOperation):  # NaN and infinities
            return None
    if isinstance(value, str) and len(value) <= 100:
        text = value.strip()
        return int(text.split(".")[0]) if ASCII_WHOLE.fullmatch(text) else None
    return None


def _refused(exc: InputRefused) -> exceptions.ValidationError:
    return exceptions.ValidationError({path or "non_field_errors": messages for path, messages in exc.errors.items()})


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the checks of `load_json`; a refused value is a 400 at its field."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            return load_json(text)
        except InputRefused as exc:
            raise _refused(exc) from None
        except ValueError as exc:  # not JSON, or not in the encoding it names
            raise exceptions.ParseError(_("JSON parse error - %(error)s") % {"error": echo(exc)}) from None


class FormParser(parsers.FormParser):
    """DRF's form parser with the form-data checks of the pages (core.middleware)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            check_query(data, limit=MAX_FORM_VALUE)
        except InputRefused as exc:
            raise _refused(exc) from None
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser with the form-data checks of the pages (core.middleware)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            check_query(parsed.data, limit=MAX_FORM_VALUE)
        except InputRefused as exc:
            raise _refused(exc) from None
        return parsed
