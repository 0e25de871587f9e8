"""Findings as people read them: the Chinese title of a finding code (the API keeps the code)."""

from django import template

from rules.data import CODES

register = template.Library()


@register.filter
def finding_title(code: str) -> str:
    """rules.data.CODES[code][1], or the code itself for one no longer in the vocabulary."""
    entry = CODES.get(code)
    return entry[1] if entry else code
