"""The patient list's filter, one FilterSet for the API and the page; it narrows what
`patient_search` already lets the user see."""

import django_filters

from .models import Patient
from .selectors import patients_matching

QUERY_LENGTH = 40


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Name, mobile or ID number.")

    class Meta:
        model = Patient
        fields = ["q"]

    def search(self, patients, name, value):
        return patients_matching(patients, value[:QUERY_LENGTH])
