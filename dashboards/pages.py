"""The dashboards' shared page: scope, filters, the figures a selector builds, and the CSV of any
table behind them (`?format=csv&table=<name>`). Each dashboard view is one call of `render_dashboard`."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .frame import FilterForm, Filters, scope_of
from .rollups import freshness

# (url name, title, open to a clinician's own figures)
DASHBOARDS = [
    ("volume", _("Prescription volume"), True),
    ("diagnoses", _("Diagnoses"), True),
    ("herbs", _("Herb usage"), True),
    ("audit", _("Audit and prescribing behaviour"), True),
    ("review", _("Prescription review figures"), True),
    ("supervision", _("Supervision report"), False),
    ("stages", _("Stage times"), False),
    ("inventory", _("Stock and expiry"), False),
    ("quality", _("Dispensing quality"), False),
]


@dataclass
class Figures:
    """What a dashboard shows: figure tiles, charts (id, title, ECharts option) and the tables
    behind them. `live` names tables read at request time rather than from the rollups."""

    tables: list = field(default_factory=list)
    charts: list = field(default_factory=list)
    tiles: list = field(default_factory=list)
    live: tuple = ()
    extra: dict = field(default_factory=dict)


def dashboards_for(scope) -> list[dict]:
    return [
        {"name": name, "title": title, "url": reverse(f"dashboards:{name}")}
        for name, title, own in DASHBOARDS
        if own or not scope.own_figures
    ]


def render_dashboard(request, name: str, build, *, template: str = "dashboards/dashboard.html", form_class=FilterForm):
    """Check scope, read the filters, build the figures with `build(filters)`, answer the page or
    one table's CSV. Bad filters answer 400 with the errors at their fields and no figures."""
    scope = scope_of(request.user)
    pages = dashboards_for(scope)
    if name not in {page["name"] for page in pages}:
        raise PermissionDenied
    form = form_class(request.GET, scope=scope)
    context = {
        "form": form,
        "name": name,
        "title": {n: t for n, t, _own in DASHBOARDS}[name],
        "pages": pages,
        "scope": scope,
        "freshness": freshness(),
    }
    if not form.is_valid():
        return render(request, template, context, status=400)
    filters: Filters = form.filters()
    figures = build(filters)
    if request.GET.get("format") == "csv":
        wanted = request.GET.get("table") or figures.tables[0].name
        table = next((t for t in figures.tables if t.name == wanted), None)
        if table is None:
            return HttpResponse(_("There is no table of that name."), status=400, content_type="text/plain")
        return table.csv_response(name)
    query = request.GET.copy()
    query.pop("table", None)
    query["format"] = "csv"
    return render(
        request, template, {**context, "filters": filters, "figures": figures, "csv_query": query.urlencode()}
    )
