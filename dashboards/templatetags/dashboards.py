from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def cell(row: dict, key: str):
    return row.get(key)


@register.filter
def link(row: dict, key: str):
    """The address a table cell links to: a row may carry {"links": {column key: url}}."""
    return (row.get("links") or {}).get(key)


@register.filter
def is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
