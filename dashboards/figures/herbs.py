"""Herb usage: the top herbs by prescriptions and by grams (per dose × doses), their trend per
month, this month against the previous one (the month of the range's end and the month before),
and toxic-herb usage. Read from HerbMonth, so a date range takes every whole month it touches
(the page says so); the prescriptions the shares are of come from VolumeDay over the same days.

A toxic herb is one whose catalogue toxicity is 小毒, 有毒 or 大毒 (catalogue.Herb.toxicity): the
rule VolumeDay.toxic counts prescriptions by, and every herb of the 1988 toxic list
(catalogue.ToxicListEntry) has one in the shipped catalogue. Herbs on that list are marked, since
the list is the stricter control. Herb names are the catalogue's Chinese names. Seven queries."""

from dataclasses import replace
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from catalogue.models import Herb, Toxicity, ToxicListEntry

from ..charts import bar, chart, line
from ..frame import Table, ratio
from ..models import HerbMonth, VolumeDay
from ..pages import Figures
from .months import label, months_of, previous_month, whole_months

TOP = 20  # rows of the top tables and of month on month
TREND_TOP = 5  # herbs followed month by month
FIGURES = {"n": Sum("prescriptions"), "g": Sum("grams")}
CENTIGRAM = Decimal("0.01")
MONTH_ON_MONTH_COLUMNS = [
    ("herb", _("Herb")),
    ("prescriptions", _("Prescriptions this month")),
    ("previous", _("Prescriptions the month before")),
    ("change", _("Change in prescriptions")),
    ("grams", _("Grams this month")),
    ("previous_grams", _("Grams the month before")),
    ("change_grams", _("Change in grams")),
]
USAGE_COLUMNS = [
    ("herb", _("Herb")),
    ("prescriptions", _("Prescriptions")),
    ("grams", _("Grams")),
    ("share", _("Share of prescriptions")),
]


def grams(value) -> Decimal:
    """Grams to the hundredth (SQLite sums decimals as floats)."""
    return Decimal(value or 0).quantize(CENTIGRAM)


def _usage(rows, order: tuple, total: int) -> list[dict]:
    """The TOP herbs in `order`; ties go by catalogue id, the same on every database. Summed by
    herb id alone, then named: grouping by the joined name too made PostgreSQL sort a year's
    rows of a county (95,000 at a million prescriptions) on disk instead of hashing them."""
    top = list(rows.values("herb").annotate(**FIGURES).order_by(*order, "herb")[:TOP])
    names = dict(Herb.objects.filter(pk__in=[r["herb"] for r in top]).values_list("pk", "name"))
    return [_herb_row({**r, "herb__name": names[r["herb"]]}, total) for r in top]


def _herb_row(r: dict, total: int) -> dict:
    return {
        "herb_id": r["herb"],
        "herb": r["herb__name"],
        "prescriptions": r["n"],
        "grams": grams(r["g"]),
        "share": ratio(r["n"], total),
    }


def _trend(rows, filters, herbs: list[dict]) -> list[dict]:
    """Prescriptions (column n0, n1, ...) and grams (g0, g1, ...) of each herb per month of the range."""
    figures = {
        (r["month"], r["herb"]): r
        for r in rows.filter(herb__in=[h["herb_id"] for h in herbs])
        .values("month", "herb")
        .annotate(**FIGURES)
        .order_by()
    }
    trend = []
    for month in months_of(filters):
        row = {"month": label(month)}
        for i, herb in enumerate(herbs):
            found = figures.get((month, herb["herb_id"]), {})
            row[f"n{i}"], row[f"g{i}"] = found.get("n", 0), grams(found.get("g"))
        trend.append(row)
    return trend


def _trend_columns(herbs: list[dict]) -> list:
    columns = [("month", _("Month"))]
    for i, herb in enumerate(herbs):
        columns += [(f"n{i}", herb["herb"]), (f"g{i}", _("%(herb)s (g)") % {"herb": herb["herb"]})]
    return columns


def _month_on_month(filters) -> tuple[list[dict], tuple]:
    """Per herb: prescriptions and grams in the range's last month against the month before."""
    this = filters.end.replace(day=1)
    before = previous_month(this)
    rows = whole_months(replace(filters, start=before, end=this))
    figures = {}
    for r in (
        rows.apply(HerbMonth.objects.all(), day="month")
        .values("herb", "herb__name", "month")
        .annotate(**FIGURES)
        .order_by()
    ):
        herb = figures.setdefault(r["herb"], {"herb": r["herb__name"], "now": (0, grams(0)), "before": (0, grams(0))})
        herb["now" if r["month"] == this else "before"] = (r["n"], grams(r["g"]))
    ordered = sorted(figures.values(), key=lambda h: (-h["now"][0], -h["before"][0], h["herb"]))[:TOP]
    return [
        {
            "herb": h["herb"],
            "prescriptions": h["now"][0],
            "previous": h["before"][0],
            "change": h["now"][0] - h["before"][0],
            "grams": h["now"][1],
            "previous_grams": h["before"][1],
            "change_grams": h["now"][1] - h["before"][1],
        }
        for h in ordered
    ], (label(this), label(before))


def _toxic(rows, total: int) -> list[dict]:
    listed = set(ToxicListEntry.objects.values_list("herb_id", flat=True))
    usage = (
        rows.exclude(herb__toxicity="")
        .values("herb", "herb__name", "herb__toxicity")
        .annotate(**FIGURES)
        .order_by("-n", "-g", "herb")
    )
    return [
        {
            **_herb_row(r, total),
            "toxicity": Toxicity(r["herb__toxicity"]).label,
            "listed": _("Yes") if r["herb"] in listed else "",
        }
        for r in usage
    ]


def herbs(filters) -> Figures:
    months = whole_months(filters)
    rows = months.apply(HerbMonth.objects.all(), day="month")
    volume = months.apply(VolumeDay.objects.all()).aggregate(total=Sum("prescriptions"), toxic=Sum("toxic"))
    total, toxic = volume["total"] or 0, volume["toxic"] or 0
    by_count = _usage(rows, ("-n", "-g"), total)
    by_grams = _usage(rows, ("-g", "-n"), total)
    trend = _trend(rows, filters, by_count[:TREND_TOP])
    changes, (this, before) = _month_on_month(filters)
    toxic_herbs = _toxic(rows, total)
    first, last = months_of(filters)[0], months_of(filters)[-1]
    return Figures(
        tiles=[
            (_("Prescriptions"), total),
            (_("Most prescribed herb"), by_count[0]["herb"] if by_count else None),
            (_("With a toxic herb"), toxic),
            (_("Toxic-herb share"), ratio(toxic, total)),
        ],
        charts=_charts(by_count, by_grams, trend, changes, toxic_herbs, months_of(filters)),
        tables=[
            Table("by-count", _("Top herbs by prescriptions"), USAGE_COLUMNS, by_count),
            Table("by-grams", _("Top herbs by grams"), USAGE_COLUMNS, by_grams),
            Table(
                "trend",
                _("Top herbs per month"),
                _trend_columns(by_count[:TREND_TOP]),
                trend,
            ),
            Table(
                "month-on-month",
                _("Month on month: %(month)s against %(previous)s") % {"month": this, "previous": before},
                MONTH_ON_MONTH_COLUMNS,
                changes,
            ),
            Table(
                "toxic",
                _("Toxic herbs"),
                [*USAGE_COLUMNS, ("toxicity", _("Toxicity")), ("listed", _("On the toxic list (1988)"))],
                toxic_herbs,
            ),
        ],
        extra={"months": (label(first), label(last))},
    )


def _grams(values) -> list[float]:
    return [float(v or 0) for v in values]


def _charts(by_count, by_grams, trend, changes, toxic_herbs, months) -> list:
    followed = {herb["herb"]: [r[f"n{i}"] for r in trend] for i, herb in enumerate(by_count[:TREND_TOP])}
    return [
        chart(
            "trend",
            _("Top herbs per month"),
            line([label(m) for m in months], followed),
        ),
        chart(
            "by-count",
            _("Top herbs by prescriptions"),
            bar(
                [r["herb"] for r in by_count],
                {_("Prescriptions"): [r["prescriptions"] for r in by_count]},
                horizontal=True,
            ),
        ),
        chart(
            "by-grams",
            _("Top herbs by grams"),
            bar([r["herb"] for r in by_grams], {_("Grams"): _grams(r["grams"] for r in by_grams)}, horizontal=True),
        ),
        chart(
            "month-on-month",
            _("This month against the previous month"),
            bar(
                [r["herb"] for r in changes],
                {
                    _("This month"): [r["prescriptions"] for r in changes],
                    _("Previous month"): [r["previous"] for r in changes],
                },
            ),
        ),
        chart(
            "toxic",
            _("Toxic herbs"),
            bar(
                [r["herb"] for r in toxic_herbs],
                {_("Prescriptions"): [r["prescriptions"] for r in toxic_herbs]},
                horizontal=True,
            ),
        ),
    ]
