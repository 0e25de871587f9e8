"""Diagnosis mix: the TCM diseases and syndromes the live prescription versions were written
for (top N with counts and shares), the ICD-10 codes where a western diagnosis was recorded, and
the trend of the top diseases per month. Read from DiagnosisMonth, so a date range takes every
whole month it touches (the page says so). Five queries, however long the range."""

from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from ..charts import bar, chart, line, pie
from ..frame import Table, ratio
from ..models import DiagnosisMonth
from ..pages import Figures
from .months import label, months_of, whole_months

TOP = 15  # rows of each mix table
TREND_TOP = 5  # diseases followed month by month
MIX_COLUMNS = [("prescriptions", _("Prescriptions")), ("share", _("Share"))]


def _mix(rows, field: str, whole: int) -> list[dict]:
    """The TOP values of `field` by prescriptions, each with its share of `whole`."""
    top = rows.values(field).annotate(n=Sum("prescriptions")).order_by("-n", field)[:TOP]
    return [
        {
            "name": r[field] or _("Not recorded"),
            "value": r[field],
            "prescriptions": r["n"],
            "share": ratio(r["n"], whole),
        }
        for r in top
    ]


def _trend(rows, filters, diseases: list[str]) -> list[dict]:
    """Prescriptions of each disease (column d0, d1, ...) per month of the range, 0 in a month without."""
    counts = {
        (r["month"], r["tcm_disease"]): r["n"]
        for r in rows.filter(tcm_disease__in=diseases)
        .values("month", "tcm_disease")
        .annotate(n=Sum("prescriptions"))
        .order_by()
    }
    return [
        {"month": label(month), **{f"d{i}": counts.get((month, d), 0) for i, d in enumerate(diseases)}}
        for month in months_of(filters)
    ]


def diagnoses(filters) -> Figures:
    rows = whole_months(filters).apply(DiagnosisMonth.objects.all(), day="month")
    totals = rows.aggregate(total=Sum("prescriptions"), coded=Sum("prescriptions", filter=~Q(icd10="")))
    total, coded = totals["total"] or 0, totals["coded"] or 0
    diseases = _mix(rows, "tcm_disease", total)
    syndromes = _mix(rows, "tcm_syndrome", total)
    codes = _mix(rows.exclude(icd10=""), "icd10", coded)
    followed = [r["value"] for r in diseases if r["value"]][:TREND_TOP]
    trend = _trend(rows, filters, followed)
    months = months_of(filters)
    return Figures(
        tiles=[
            (_("Prescriptions"), total),
            (_("Most frequent disease"), next((r["name"] for r in diseases if r["value"]), None)),
            (_("With an ICD-10 code"), coded),
            (_("ICD-10 coded share"), ratio(coded, total)),
        ],
        charts=_charts(diseases, syndromes, total, coded, trend, followed, months),
        tables=[
            Table("diseases", _("TCM diseases"), [("name", _("TCM disease")), *MIX_COLUMNS], diseases),
            Table("syndromes", _("TCM syndromes"), [("name", _("TCM syndrome")), *MIX_COLUMNS], syndromes),
            Table(
                "icd10",
                _("ICD-10 codes (share of the coded prescriptions)"),
                [("name", _("ICD-10 code")), *MIX_COLUMNS],
                codes,
            ),
            Table(
                "trend",
                _("Top diseases per month"),
                [("month", _("Month")), *((f"d{i}", disease) for i, disease in enumerate(followed))],
                trend,
            ),
        ],
        extra={"months": (label(months[0]), label(months[-1]))},
    )


def _charts(diseases, syndromes, total, coded, trend, followed, months) -> list:
    per_disease = {d: [r[f"d{i}"] for r in trend] for i, d in enumerate(followed)}
    return [
        chart("trend", _("Top diseases per month"), line([label(m) for m in months], per_disease)),
        chart(
            "diseases",
            _("TCM diseases"),
            bar(
                [r["name"] for r in diseases],
                {_("Prescriptions"): [r["prescriptions"] for r in diseases]},
                horizontal=True,
            ),
        ),
        chart(
            "syndromes",
            _("TCM syndromes"),
            bar(
                [r["name"] for r in syndromes],
                {_("Prescriptions"): [r["prescriptions"] for r in syndromes]},
                horizontal=True,
            ),
        ),
        chart(
            "coded",
            _("ICD-10 recorded"),
            pie([(_("With an ICD-10 code"), coded), (_("Without an ICD-10 code"), total - coded)]),
        ),
    ]
