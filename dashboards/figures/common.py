"""Reads several dashboards share: periods of a trend, names of institutions and clinicians."""

from django.contrib.auth import get_user_model
from django.db.models import DateField
from django.db.models.functions import Trunc

from accounts.models import Institution


def by_period(queryset, filters, field: str = "day"):
    """`queryset` grouped by the filters' period (day, week or month) as `period`."""
    return queryset.annotate(period=Trunc(field, filters.by, output_field=DateField())).values("period")


def institution_names(ids) -> dict[int, str]:
    return dict(Institution.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


def clinician_names(ids) -> dict[int, str]:
    return {
        pk: name or username
        for pk, name, username in get_user_model().objects.filter(pk__in=set(ids)).values_list("pk", "name", "username")
    }
