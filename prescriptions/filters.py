"""The prescription list's filters, one FilterSet for the API and the page.

They narrow what `prescription_search` already lets the user see; they never widen it."""

import django_filters
from drf_spectacular.utils import extend_schema_field

from core.ids import IdFilter

from .models import Prescription
from .selectors import prescriptions_matching
from .workflow import Stage

# The page's date inputs and the API both send ISO dates; other spellings are an error, not a guess.
ISO_DATE = ["%Y-%m-%d"]


@extend_schema_field({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]})
class DateFilter(django_filters.DateFilter):
    """An ISO date; empty (the page's blank date input) means no bound, and the schema says so."""


QUERY_LENGTH = 40


class PrescriptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Stage.choices, help_text="The prescription's current status.")
    patient = IdFilter(field_name="patient_id", help_text="A patient id.")
    date_from = DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        input_formats=ISO_DATE,
        help_text="Submitted on or after (YYYY-MM-DD).",
    )
    date_to = DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        input_formats=ISO_DATE,
        help_text="Submitted on or before (YYYY-MM-DD).",
    )
    q = django_filters.CharFilter(method="search", help_text="Prescription number, patient name or mobile.")

    class Meta:
        model = Prescription
        fields = ["status", "patient", "date_from", "date_to", "q"]

    def search(self, prescriptions, name, value):
        return prescriptions_matching(prescriptions, value[:QUERY_LENGTH])
