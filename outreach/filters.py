"""The session list's filters (`?institution=&expert=&from=&to=`): they narrow what
outreach.permissions.sessions_visible_to lets the user see, never widen it."""

import django_filters

from core.ids import IdFilter
from prescriptions.filters import ISO_DATE, DateFilter

from .models import ClinicSession


class _Meta:
    model = ClinicSession
    fields = ["institution", "expert", "from", "to"]


# `from` is a Python keyword, so the FilterSet is built from a dict of its filters.
SessionFilter = type(
    "SessionFilter",
    (django_filters.FilterSet,),
    {
        "institution": IdFilter(field_name="institution_id", help_text="A health centre's id."),
        "expert": IdFilter(field_name="expert_id", help_text="The expert's user id."),
        "from": DateFilter(
            field_name="date", lookup_expr="gte", input_formats=ISO_DATE, help_text="On or after (YYYY-MM-DD)."
        ),
        "to": DateFilter(
            field_name="date", lookup_expr="lte", input_formats=ISO_DATE, help_text="On or before (YYYY-MM-DD)."
        ),
        "Meta": _Meta,
    },
)
