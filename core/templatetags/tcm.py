from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def g(value):
    """A decimal amount without trailing zeros or exponent: 10.00 → 10, 12.50 → 12.5."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value).normalize():f}"
