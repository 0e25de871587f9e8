"""What every dashboard shares: who sees which figures (the scope), the filters (date range,
institution subtree, clinician), the tables behind the charts and their CSV export.

Scope, by the role table: a user with `view_dashboards` sees the institutions of their subtree
(the county bureau all of them, a central health centre its own and its townships'); a clinician
with `view_figures` alone sees only the prescriptions they wrote. Everything else is refused."""

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution
from accounts.permissions import has_capability, institution_ids_visible_to
from accounts.roles import Role

DEFAULT_DAYS = 90
MAX_DAYS = 11 * 366  # a county's ten years, and a little


@dataclass(frozen=True)
class Scope:
    """The rows a user may count: institutions (None: all of them) and, for a clinician, only
    their own prescriptions."""

    institution_ids: frozenset | None
    prescriber_id: int | None = None

    @property
    def own_figures(self) -> bool:
        return self.prescriber_id is not None


def scope_of(user) -> Scope:
    """The user's dashboard scope; PermissionDenied for users who may see no figures."""
    if has_capability(user, "view_dashboards"):
        ids = institution_ids_visible_to(user)
        return Scope(None if ids is None else frozenset(ids))
    if has_capability(user, "view_figures"):
        return Scope(frozenset({user.institution_id}), prescriber_id=user.pk)
    raise PermissionDenied


class FilterForm(forms.Form):
    """The filters of every dashboard. Institutions and clinicians offered are those in scope;
    choosing an institution takes its whole subtree."""

    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    institution = forms.ModelChoiceField(label=_("Institution"), queryset=Institution.objects.none(), required=False)
    clinician = forms.ModelChoiceField(label=_("Clinician"), queryset=get_user_model().objects.none(), required=False)
    by = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("", _("Automatic")), ("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
    )

    def __init__(self, data, *, scope: Scope, default_days: int = DEFAULT_DAYS):
        super().__init__(data)
        self.scope = scope
        self.default_days = default_days
        institutions = Institution.objects.order_by("code")
        if scope.institution_ids is not None:
            institutions = institutions.filter(pk__in=scope.institution_ids)
        self.fields["institution"].queryset = institutions
        clinicians = get_user_model().objects.filter(groups__name=Role.CLINICIAN, institution__in=institutions)
        self.fields["clinician"].queryset = clinicians.order_by("username").distinct()
        if scope.own_figures:
            del self.fields["institution"], self.fields["clinician"]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=self.default_days - 1)
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("start", _("The start date is after the end date."))
        elif (end - start).days > MAX_DAYS:
            self.add_error("start", _("Choose at most ten years."))
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> "Filters":
        data = self.cleaned_data
        ids = self.scope.institution_ids
        if data.get("institution"):
            subtree = frozenset(Institution.objects.subtree_ids(data["institution"].pk))
            ids = subtree if ids is None else ids & subtree
        prescriber = self.scope.prescriber_id or (data["clinician"].pk if data.get("clinician") else None)
        by = data.get("by") or ("day" if (data["end"] - data["start"]).days < 62 else "month")
        return Filters(start=data["start"], end=data["end"], institution_ids=ids, prescriber_id=prescriber, by=by)


class PlaceFilterForm(FilterForm):
    """The filters of a dashboard whose figures have no prescriber (stage times, stock, quality):
    the same, without the clinician."""

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.fields.pop("clinician", None)


@dataclass(frozen=True)
class Filters:
    """A dashboard's question: the local days start…end, the institutions (None: all), a prescriber."""

    start: date
    end: date
    institution_ids: frozenset | None
    prescriber_id: int | None = None
    by: str = "day"  # the period of a trend: day, week or month

    def apply(self, queryset, *, day="day", institution="institution", prescriber="prescriber"):
        """Limit a rollup queryset to the filters (`prescriber=None`: a rollup without one)."""
        queryset = queryset.filter(**{f"{day}__range": (self.start, self.end)})
        if self.institution_ids is not None:
            queryset = queryset.filter(**{f"{institution}__in": self.institution_ids})
        if self.prescriber_id is not None and prescriber:
            queryset = queryset.filter(**{prescriber: self.prescriber_id})
        return queryset

    def months(self) -> tuple[date, date]:
        """The first days of the months the range touches (for the monthly rollups)."""
        return self.start.replace(day=1), self.end.replace(day=1)


@dataclass
class Table:
    """The table behind a chart: shown under it and exported as CSV. Columns: (key, label)."""

    name: str
    title: str
    columns: list
    rows: list = field(default_factory=list)

    def csv_response(self, filename: str) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}-{self.name}.csv"'
        response.write("\ufeff")  # Excel, which county offices open CSV files in, needs the BOM for UTF-8
        writer = csv.writer(response)
        writer.writerow([str(label) for _key, label in self.columns])
        for row in self.rows:
            writer.writerow([_cell(row.get(key)) for key, _label in self.columns])
        return response


def _cell(value):
    if value is None:
        return ""
    text = str(value)
    # A cell starting like a formula is not run by the spreadsheet that opens the export.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def ratio(part, whole, digits: int = 3):
    return round(part / whole, digits) if whole else None
