"""Times and durations as people read them: a moment in the platform's time zone (Asia/Shanghai,
settings.TIME_ZONE), never the UTC of an ISO string kept in JSON; a duration rounded to the
minute ("2小时5分"), never a raw timedelta or float seconds."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _


def local_datetime(value) -> datetime | None:
    """`value` (an aware datetime, or an ISO 8601 string as JSON keeps one) in the current time
    zone; None for an empty or unreadable value. A naive value is taken as UTC, as stored."""
    if isinstance(value, str):
        value = parse_datetime(value.strip()) if value.strip() else None
    if not isinstance(value, datetime):
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.UTC)
    return timezone.localtime(value)


def local_text(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """local_datetime(value) written with `fmt`, or "" for none."""
    moment = local_datetime(value)
    return moment.strftime(fmt) if moment else ""


def duration_text(value) -> str:
    """A duration (timedelta, or seconds as a number) rounded for reading: days and hours past a
    day, hours and minutes past an hour, minutes past a minute, else seconds. "" for None."""
    if value is None or value == "":
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    seconds = round(abs(seconds))
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": seconds}
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        if hours:
            return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
        return _("%(days)d d") % {"days": days}
    if hours:
        if minutes:
            return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


def milliseconds_text(value) -> str:
    """A machine duration in milliseconds, rounded: "12 ms", "1.3 s"."""
    if value is None:
        return ""
    if value < 1000:
        return _("%(ms)d ms") % {"ms": round(value)}
    return _("%(seconds).1f s") % {"seconds": value / 1000}
