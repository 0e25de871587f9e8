"""The MedicationRequest search's parameters: read, checked and turned into the selector's filters
and the page's links. A parameter the server does not support is a 400 "not-supported"; a value it
cannot read, or a parameter given twice that may be given once, a 400 "invalid"
(docs/interop-fhir.md, "Search")."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _

from core.ids import parse_id
from core.input import echo, whole_number

from . import codes
from .exceptions import FHIRError
from .selectors import LineFilters

DEFAULT_COUNT, MAX_COUNT = 20, 100
# What every FHIR endpoint takes besides its own parameters (interop.fhir.protocol reads them).
GENERAL = frozenset({"_format", "_pretty"})
SEARCH = frozenset({"patient", "status", "_lastUpdated", "group-identifier", "_count", "_offset"})
REPEATABLE = frozenset({"_lastUpdated"})  # each value narrows further (AND)
DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,
)
# FHIR's date prefixes, and the ones this server reads.
PREFIXES = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}
SUPPORTED_PREFIXES = {"eq", "gt", "lt", "ge", "le"}


@dataclass(frozen=True)
class Search:
    filters: LineFilters
    offset: int
    count: int
    given: tuple  # the search parameters as given, but paging, for the links


def check_parameters(query, supported=frozenset()) -> None:
    """Every endpoint's parameters: a 400 "not-supported" for any but `supported` and the general
    ones; a 400 "invalid" for one given twice (but _lastUpdated, which narrows again), or for a
    _pretty other than true or false."""
    unknown = sorted(name for name in query if name not in supported | GENERAL)
    if unknown:
        raise FHIRError(
            400,
            "not-supported",
            _("This server does not support the parameter %(names)s.") % {"names": ", ".join(map(echo, unknown))},
        )
    for name in query:
        if name not in REPEATABLE and len(query.getlist(name)) > 1:
            raise _invalid(_("Give the parameter %(name)s once.") % {"name": name})
    if query.get("_pretty", "true") not in ("true", "false"):
        raise _invalid(_("_pretty must be true or false."))


def parse_search(query) -> Search:
    """The MedicationRequest search that `query` (the request's QueryDict) asks for."""
    check_parameters(query, SEARCH)
    value = {name: query.get(name, "").strip() for name in SEARCH - REPEATABLE}
    filters = LineFilters(
        patient=_patient(value["patient"]) if value["patient"] else None,
        stages=_stages(value["status"]) if value["status"] else None,
        number=_group_number(value["group-identifier"]) if value["group-identifier"] else None,
        updated=tuple(bound for text in query.getlist("_lastUpdated") if text.strip() for bound in _updated(text)),
    )
    count = _whole(value["_count"], "_count", DEFAULT_COUNT)
    given = tuple((name, v) for name, values in query.lists() if name in SEARCH - {"_count", "_offset"} for v in values)
    return Search(filters, offset=_whole(value["_offset"], "_offset", 0), count=min(count, MAX_COUNT), given=given)


def _invalid(message: str) -> FHIRError:
    return FHIRError(400, "invalid", message)


def _whole(text: str, name: str, default: int) -> int:
    if not text:
        return default
    number = whole_number(text)
    if number is None or number < 0:
        raise _invalid(_("%(name)s must be a whole number from 0.") % {"name": name})
    return number


def _patient(text: str) -> int:
    """A patient reference: 123, Patient/123 or the patient's full URL on this server."""
    for prefix in (f"{codes.base()}/Patient/", "Patient/"):
        if text.startswith(prefix):
            text = text.removeprefix(prefix)
            break
    pk = parse_id(text)
    if pk is None:
        raise _invalid(_("patient must be a patient id, Patient/<id> or its full URL."))
    return pk


def _stages(text: str) -> tuple:
    statuses = {status.strip() for status in text.split(",")}
    unknown = sorted(statuses - codes.REQUEST_STATUSES)
    if unknown:
        raise _invalid(
            _("%(status)s is not a MedicationRequest status.") % {"status": echo(", ".join(unknown) or '""')}
        )
    return tuple(codes.stages_with_request_status(statuses))


def _group_number(text: str) -> str:
    """The prescription number of a group-identifier token; "" (no prescription has it) for a
    token of another system."""
    system, bar, number = text.rpartition("|")
    if bar and system and system != codes.identifier_system(codes.PRESCRIPTION_NUMBER):
        return ""
    return number


def _updated(text: str) -> list[tuple[str, datetime]]:
    """The bounds a _lastUpdated value sets on the prescription's last change, as (lookup, time)."""
    text = text.strip().replace(" ", "+")  # a zone's "+" sent unencoded arrives as a space
    prefix = text[:2] if text[:2].isalpha() else "eq"
    if text[:2].isalpha() and prefix not in PREFIXES:
        raise _invalid(_("_lastUpdated must be a date such as ge2026-01-31 or lt2026-01-31T08:00:00+08:00."))
    if prefix not in SUPPORTED_PREFIXES:
        raise FHIRError(
            400, "not-supported", _("The _lastUpdated prefix %(prefix)s is not supported.") % {"prefix": prefix}
        )
    start, end = _date_range(text[2:] if text[:2].isalpha() else text)
    return {
        "eq": [("gte", start), ("lt", end)],
        "ge": [("gte", start)],
        "gt": [("gte", end)],
        "le": [("lt", end)],
        "lt": [("lt", start)],
    }[prefix]


def _date_range(text: str) -> tuple[datetime, datetime]:
    """[start, end) of the moments a FHIR date or dateTime names, at its precision: a day is the
    whole day, in the platform's time zone unless the value gives its own."""
    found = DATE.fullmatch(text)
    message = _("_lastUpdated must be a date such as ge2026-01-31 or lt2026-01-31T08:00:00+08:00.")
    if not found:
        raise _invalid(message)
    parts = found.groupdict()
    try:
        start = _start(parts)
        return start, _end(start, parts)
    except (ValueError, OverflowError):  # 2026-02-30, a zone of +99:00, the year 9999's end
        raise _invalid(message) from None


def _start(parts: dict) -> datetime:
    start = datetime(
        int(parts["year"]),
        int(parts["month"] or 1),
        int(parts["day"] or 1),
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        int((parts["fraction"] or "0")[:6].ljust(6, "0")),
    )
    zone = parts["zone"]
    if zone:
        return datetime.fromisoformat(f"{start.isoformat()}{'+00:00' if zone == 'Z' else zone}")
    return timezone.make_aware(start)


def _end(start: datetime, parts: dict) -> datetime:
    if parts["fraction"]:
        return start + timedelta(microseconds=10 ** (6 - min(len(parts["fraction"]), 6)))
    if parts["second"]:
        return start + timedelta(seconds=1)
    if parts["minute"]:
        return start + timedelta(minutes=1)
    if parts["day"]:
        return start + timedelta(days=1)
    if parts["month"]:
        year, month = divmod(start.month, 12)
        return start.replace(year=start.year + year, month=month + 1)
    return start.replace(year=start.year + 1)


def page_links(search: Search, *, total: int) -> list[tuple[str, str]]:
    """self, first, previous and next (where there is one) of a search's page, as absolute URLs."""
    here = f"{codes.base()}/MedicationRequest"

    def url(offset: int) -> str:
        return f"{here}?{urlencode([*search.given, ('_count', search.count), ('_offset', offset)])}"

    links = [("self", url(search.offset)), ("first", url(0))]
    if search.offset > 0 and search.count:
        links.append(("previous", url(max(search.offset - search.count, 0))))
    if search.count and search.offset + search.count < total:
        links.append(("next", url(search.offset + search.count)))
    return links
