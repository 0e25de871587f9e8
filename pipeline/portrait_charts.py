"""The portrait's charts as ECharts option objects, handed to the page through json_script and
drawn by static/js/charts.js. Each chart's figures are also in a table on the page (for screen
readers and for print): these functions only reshape the selector's figures, they add none."""

from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext as _

from .portrait import TOP_HERBS, Portrait, month_of


def portrait_charts(portrait: Portrait) -> dict[str, dict]:
    """{name: ECharts option} for the visits, diagnoses and herbs charts (the page hands each over
    as json_script "chart-<name>"); empty for a patient with no visits or prescriptions."""
    months = portrait.months
    if not months:
        return {}
    labels = [f"{month:%Y-%m}" for month in months]
    visits = {row["month"]: row["visits"] for row in portrait.visit_months}
    per_diagnosis: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for visit in portrait.visits:
        name = " ".join(part for part in (visit.tcm_disease, visit.tcm_syndrome) if part)
        per_diagnosis[name][month_of(visit.created_at)] += 1
    return {
        "visits": _bars(labels, [(_("Visits"), [visits.get(m, 0) for m in months])], _("visits")),
        "diagnoses": _bars(
            labels,
            [(name, [counts.get(m, 0) for m in months]) for name, counts in sorted(per_diagnosis.items())],
            _("visits"),
        ),
        "herbs": _bars(labels, _herb_series(portrait, months), _("grams")),
    }


def _herb_series(portrait: Portrait, months) -> list[tuple[str, list]]:
    """Grams per month of the TOP_HERBS herbs with the most grams over the whole record."""
    grams: dict[str, dict] = defaultdict(dict)
    for row in portrait.herb_months:
        for herb in row["all"]:
            grams[herb["name"]][row["month"]] = herb["grams"]
    top = sorted(grams, key=lambda name: (-sum(grams[name].values()), name))[:TOP_HERBS]
    return [(name, [float(grams[name].get(m, Decimal(0))) for m in months]) for name in top]


def _bars(labels: list[str], series: list[tuple[str, list]], unit: str) -> dict:
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll"},
        "grid": {"containLabel": True, "left": 8, "right": 8, "bottom": 8},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": unit, "minInterval": 1},
        "series": [{"type": "bar", "stack": "total", "name": name, "data": data} for name, data in series],
    }
