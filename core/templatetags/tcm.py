from decimal import Decimal

from django import template

from core.timefmt import duration_text, local_text

register = template.Library()


@register.filter
def g(value):
    """A decimal amount without trailing zeros or exponent: 10.00 → 10, 12.50 → 12.5."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value).normalize():f}"


@register.filter
def local_time(value, fmt="%Y-%m-%d %H:%M"):
    """A moment (datetime or an ISO string from JSON) in the platform's time zone: core.timefmt."""
    return local_text(value, fmt)


@register.filter
def duration(value):
    """A timedelta or seconds, rounded for reading ("2小时5分"): core.timefmt.duration_text."""
    return duration_text(value)
