"""Stage times: the median and 90th percentile of each step a prescription takes, the share handed
over within 4 h and 24 h of prescribing, the urgent-decoction target, and the prescriptions stuck
at a stage now.

Durations come from the StageMonth histograms of the versions submitted in the months the range
touches (the histograms are kept per month), merged over the institutions in the filters, so a
median or 90th percentile is the lower bound of the bucket that holds it (5 minutes below 2 h,
15 minutes below 8 h, the hour below 48 h, 6 hours beyond: dashboards.rollups.steps.bucket). The
4 h and 24 h shares are exact and per day (VolumeDay counts them per prescription). The stuck
prescriptions are read live."""

from collections import Counter, defaultdict
from dataclasses import replace

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution
from core.timefmt import duration_text, local_text
from decoction.models import StationSettings

from ..charts import bar, chart, line
from ..frame import Table, ratio
from ..models import StageMonth, VolumeDay
from ..pages import Figures
from ..rollups.steps import bucket, percentile
from ..selectors import stuck_flags
from .common import by_period

# The steps shown, in the order a prescription takes them (dashboards.rollups.steps.STEPS), and
# the whole way from prescribing to handover.
STEP_LABELS = {
    "audit_wait": _("Waiting for the audit"),
    "dispense": _("Dispensing"),
    "recheck": _("Re-check"),
    "soak_wait": _("Waiting to soak"),
    "soak": _("Soaking"),
    "decoct": _("Decocting"),
    "pack": _("Packing (self-decoction)"),
    "ship_wait": _("Waiting to ship"),
    "deliver": _("Courier delivery"),
    "pickup": _("Waiting for pickup"),
    "total": _("Prescribing to handover"),
}
URGENT_SPAN = "to_packaged"  # approval → packaged, the span the urgent target is set for
STUCK_ROWS = 200  # the stages page lists the longest-waiting ones; the tile counts them all
HANDOVER = {
    "delivered": Sum("delivered"),
    "picked_up": Sum("picked_up"),
    "within_4h": Sum("within_4h"),
    "within_24h": Sum("within_24h"),
}


def urgent_met(histogram: dict[int, int], target_minutes: int) -> int:
    """How many durations of a histogram met the target, to the bucket: a bucket counts when it
    lies wholly below the target's own bucket, so every duration in it is under the target. A
    target inside a bucket (say 130 minutes, inside the 120–135 bucket) counts that bucket as
    missed, and a duration of exactly the target counts as missed; at the default 120 minutes,
    and any target on a bucket bound, the count is exact for durations under the target."""
    limit = bucket(target_minutes)
    return sum(n for minutes, n in histogram.items() if minutes < limit)


def _monthly(queryset, filters):
    """StageMonth rows of the months the range touches, for the institutions: the county's own
    rows when the filters cover every institution (dashboards.models.StageMonth)."""
    first, last = filters.months()
    if filters.institution_ids is None or len(filters.institution_ids) == Institution.objects.count():
        return queryset.filter(month__range=(first, last), institution__isnull=True)
    return replace(filters, start=first, end=last).apply(queryset, day="month", prescriber=None)


def _histograms(filters) -> tuple[dict, Counter]:
    """Every step's histogram (urgent and not merged) and the urgent approval → packaged one."""
    rows = _monthly(StageMonth.objects.all(), filters).values("step", "urgent", "minutes").annotate(n=Sum("count"))
    steps, urgent = defaultdict(Counter), Counter()
    for row in rows.order_by():
        steps[row["step"]][row["minutes"]] += row["n"]
        if row["step"] == URGENT_SPAN and row["urgent"]:
            urgent[row["minutes"]] += row["n"]
    return steps, urgent


def _spread(histogram: dict) -> dict:
    median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)
    return {
        "count": sum(histogram.values()),
        "median": duration_text(None if median is None else median * 60),
        "p90": duration_text(None if p90 is None else p90 * 60),
        "median_minutes": median,
        "p90_minutes": p90,
    }


def _handover_row(sums: dict) -> dict:
    handed = (sums["delivered"] or 0) + (sums["picked_up"] or 0)
    within_4h, within_24h = sums["within_4h"] or 0, sums["within_24h"] or 0
    return {
        "handed_over": handed,
        "within_4h": within_4h,
        "within_24h": within_24h,
        "share_4h": ratio(within_4h, handed),
        "share_24h": ratio(within_24h, handed),
    }


def _periods(filters) -> list[dict]:
    """Per period: prescriptions handed over, and how many within 4 h and 24 h."""
    volume = filters.apply(VolumeDay.objects.all(), prescriber=None)
    rows = by_period(volume, filters).annotate(**HANDOVER).order_by("period")
    return [{"period": row["period"], **_handover_row(row)} for row in rows]


def _months(filters) -> list[dict]:
    """Per month: the median and 90th percentile of the whole way, prescribing to handover."""
    totals = defaultdict(Counter)
    whole_way = _monthly(StageMonth.objects.filter(step="total"), filters)
    for row in whole_way.values("month", "minutes").annotate(n=Sum("count")).order_by():
        totals[row["month"]][row["minutes"]] += row["n"]
    return [{"month": month, **_spread(totals[month])} for month in sorted(totals)]


def _stuck_rows(filters) -> tuple[int, list]:
    flags = stuck_flags(filters.institution_ids)
    now = timezone.now()
    rows = [
        {
            "number": flag.prescription.display_number,
            "institution": flag.prescription.institution.name,
            "stage": flag.get_stage_display(),
            "since": local_text(flag.since),
            "waiting": duration_text(now - flag.since),
            "limit": duration_text(flag.limit_minutes * 60),
            "links": {"number": reverse("prescriptions:detail", args=[flag.prescription_id])},
        }
        for flag in flags[:STUCK_ROWS]
    ]
    return (len(rows) if len(rows) < STUCK_ROWS else flags.count()), rows


def stages(filters) -> Figures:
    histograms, urgent = _histograms(filters)
    steps = [{"step": label, **_spread(histograms.get(step, {}))} for step, label in STEP_LABELS.items()]
    handover = _handover_row(filters.apply(VolumeDay.objects.all(), prescriber=None).aggregate(**HANDOVER))
    target = StationSettings.current().urgent_target_minutes
    urgent_count, met = sum(urgent.values()), urgent_met(urgent, target)
    urgent_row = {"target": target, "count": urgent_count, "met": met, "share": ratio(met, urgent_count)}
    periods, months = _periods(filters), _months(filters)
    stuck_count, stuck = _stuck_rows(filters)
    return Figures(
        tiles=[
            (_("Handed over"), handover["handed_over"]),
            (_("Within 4 h"), handover["share_4h"]),
            (_("Within 24 h"), handover["share_24h"]),
            (_("Urgent decoctions on target"), urgent_row["share"]),
            (_("Stuck now"), stuck_count),
        ],
        charts=_charts(steps, periods, months),
        tables=_tables(steps, periods, months, urgent_row, stuck),
        live=(_("Stuck prescriptions"),),
        extra={"urgent": urgent_row, "stuck_count": stuck_count, "stuck_shown": len(stuck)},
    )


def _tables(steps, periods, months, urgent_row, stuck) -> list:
    spread = [
        ("count", _("Prescriptions")),
        ("median", _("Median")),
        ("p90", _("90th percentile")),
        ("median_minutes", _("Median (min)")),
        ("p90_minutes", _("90th percentile (min)")),
    ]
    return [
        Table("steps", _("Time of each step"), [("step", _("Step")), *spread], steps),
        Table(
            "periods",
            _("Per period"),
            [
                ("period", _("Period")),
                ("handed_over", _("Handed over")),
                ("within_4h", _("Within 4 h")),
                ("within_24h", _("Within 24 h")),
                ("share_4h", _("Share within 4 h")),
                ("share_24h", _("Share within 24 h")),
            ],
            periods,
        ),
        Table("months", _("Prescribing to handover, per month"), [("month", _("Month")), *spread], months),
        Table(
            "urgent",
            _("Urgent decoction: approval to packaged"),
            [
                ("target", _("Target (min)")),
                ("count", _("Urgent prescriptions packaged")),
                ("met", _("On target")),
                ("share", _("Share on target")),
            ],
            [urgent_row],
        ),
        Table(
            "stuck",
            _("Stuck prescriptions now, the longest waiting first"),
            [
                ("number", _("Prescription")),
                ("institution", _("Institution")),
                ("stage", _("Stage")),
                ("since", _("At this stage since")),
                ("waiting", _("Waiting")),
                ("limit", _("Limit")),
            ],
            stuck,
        ),
    ]


def _charts(steps, periods, months) -> list:
    shown = [row for row in steps if row["count"]]
    x = [r["period"] for r in periods]
    return [
        chart(
            "steps",
            _("Median and 90th percentile of each step (hours)"),
            bar(
                [r["step"] for r in shown],
                {
                    _("Median"): [_in_hours(r["median_minutes"]) for r in shown],
                    _("90th percentile"): [_in_hours(r["p90_minutes"]) for r in shown],
                },
                horizontal=True,
            ),
        ),
        chart(
            "handover",
            _("Share handed over within 4 h and 24 h"),
            line(
                x,
                {
                    _("Within 4 h"): [r["share_4h"] for r in periods],
                    _("Within 24 h"): [r["share_24h"] for r in periods],
                },
            ),
        ),
        chart(
            "whole-way",
            _("Prescribing to handover per month (hours)"),
            line(
                [r["month"] for r in months],
                {
                    _("Median"): [_in_hours(r["median_minutes"]) for r in months],
                    _("90th percentile"): [_in_hours(r["p90_minutes"]) for r in months],
                },
            ),
        ),
    ]


def _in_hours(minutes):
    return None if minutes is None else round(minutes / 60, 2)
