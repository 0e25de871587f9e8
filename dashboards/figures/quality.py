"""Quality at the stations: the daily random inspections of decoctions (picked, passed, failed,
waiting) by inspector and by the dispenser of the inspected prescription, and the pharmacist's
re-check failures by dispenser, each with a trend per period.

Inspections are read live (decoction.Inspection, a few a day), by the day they were picked;
re-checks come from the QualityDay rollup, by the day the herbs were dispensed. Both are limited
to prescriptions of the institutions in the filters."""

from collections import defaultdict

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from decoction.models import Inspection, InspectionResult

from ..charts import bar, chart, line, pie
from ..frame import Table, ratio
from ..models import QualityDay
from ..pages import Figures
from .common import by_period, clinician_names

INSPECTED = {
    "picked": Count("pk"),
    "passed": Count("pk", filter=Q(result=InspectionResult.PASSED)),
    "failed": Count("pk", filter=Q(result=InspectionResult.FAILED)),
    "pending": Count("pk", filter=Q(result=InspectionResult.PENDING)),
}
RECHECKED = {"dispensed": Sum("dispensed"), "recheck_failed": Sum("recheck_failed")}
INSPECTION_COLUMNS = [
    ("picked", _("Picked")),
    ("passed", _("Passed")),
    ("failed", _("Failed")),
    ("pending", _("Waiting for inspection")),
    ("failed_share", _("Failed share of inspected")),
]
RECHECK_COLUMNS = [
    ("dispensed", _("Dispensed")),
    ("recheck_failed", _("Failed the re-check")),
    ("recheck_rate", _("Re-check failure rate")),
]


def _inspection_row(counts: dict) -> dict:
    inspected = counts["passed"] + counts["failed"]
    return {**{key: counts[key] for key in INSPECTED}, "failed_share": ratio(counts["failed"], inspected)}


def _recheck_row(sums: dict) -> dict:
    dispensed, failed = sums["dispensed"] or 0, sums["recheck_failed"] or 0
    return {"dispensed": dispensed, "recheck_failed": failed, "recheck_rate": ratio(failed, dispensed)}


NO_INSPECTIONS = _inspection_row(dict.fromkeys(INSPECTED, 0))
NO_RECHECKS = _recheck_row(dict.fromkeys(RECHECKED))


def _inspections(filters):
    inspections = Inspection.objects.filter(picked_on__range=(filters.start, filters.end))
    if filters.institution_ids is not None:
        inspections = inspections.filter(prescription__institution__in=filters.institution_ids)
    return inspections


def quality(filters) -> Figures:
    inspections = _inspections(filters)
    rechecks = filters.apply(QualityDay.objects.all(), prescriber=None)
    totals = _inspection_row(inspections.aggregate(**INSPECTED))
    by_inspector = list(
        inspections.exclude(inspector=None).values("inspector").annotate(**INSPECTED).order_by("-picked")
    )
    inspected_dispensers = list(
        inspections.values("prescription__milestone__dispensed_by").annotate(**INSPECTED).order_by("-picked")
    )
    recheck_people = list(rechecks.values("dispenser").annotate(**RECHECKED).order_by("-dispensed"))
    people = clinician_names(
        [r["inspector"] for r in by_inspector]
        + [r["prescription__milestone__dispensed_by"] for r in inspected_dispensers]
        + [r["dispenser"] for r in recheck_people]
    )
    dispensers = _by_dispenser(inspected_dispensers, recheck_people, people)
    inspectors = [{"inspector": people.get(r["inspector"]), **_inspection_row(r)} for r in by_inspector]
    periods = _periods(filters, inspections, rechecks)
    recheck_totals = _recheck_row(rechecks.aggregate(**RECHECKED))
    return Figures(
        tiles=[
            (_("Inspections picked"), totals["picked"]),
            (_("Inspections failed"), totals["failed"]),
            (_("Waiting for inspection"), totals["pending"]),
            (_("Dispensed"), recheck_totals["dispensed"]),
            (_("Re-check failure rate"), recheck_totals["recheck_rate"]),
        ],
        charts=_charts(totals, periods, dispensers),
        tables=[
            Table(
                "periods", _("Per period"), [("period", _("Period")), *INSPECTION_COLUMNS, *RECHECK_COLUMNS], periods
            ),
            Table(
                "dispensers",
                _("By dispenser"),
                [("dispenser", _("Dispenser")), *RECHECK_COLUMNS, *INSPECTION_COLUMNS],
                dispensers,
            ),
            Table(
                "inspectors",
                _("Inspections by inspector"),
                [
                    ("inspector", _("Inspector")),
                    ("passed", _("Passed")),
                    ("failed", _("Failed")),
                    INSPECTION_COLUMNS[-1],
                ],
                inspectors,
            ),
        ],
        live=(_("Inspections"),),
    )


def _by_dispenser(inspected: list, rechecked: list, people: dict) -> list[dict]:
    """One row per dispenser: the re-checks of what they dispensed and the inspections of it."""
    rows = defaultdict(lambda: {**NO_RECHECKS, **NO_INSPECTIONS})
    for r in rechecked:
        rows[r["dispenser"]].update(_recheck_row(r))
    for r in inspected:
        rows[r["prescription__milestone__dispensed_by"]].update(_inspection_row(r))
    named = [{"dispenser": people.get(who) or _("Unknown"), **row} for who, row in rows.items()]
    return sorted(named, key=lambda row: (-row["dispensed"], str(row["dispenser"])))


def _periods(filters, inspections, rechecks) -> list[dict]:
    picked = {
        r["period"]: _inspection_row(r)
        for r in by_period(inspections, filters, field="picked_on").annotate(**INSPECTED).order_by()
    }
    dispensed = {r["period"]: _recheck_row(r) for r in by_period(rechecks, filters).annotate(**RECHECKED).order_by()}
    return [
        {"period": period, **picked.get(period, NO_INSPECTIONS), **dispensed.get(period, NO_RECHECKS)}
        for period in sorted(set(picked) | set(dispensed))
    ]


def _charts(totals, periods, dispensers) -> list:
    x = [r["period"] for r in periods]
    named = [r for r in dispensers if r["dispensed"]][:20]
    return [
        chart(
            "trend",
            _("Re-check failure rate and failed inspections per period"),
            line(
                x,
                {
                    _("Re-check failure rate"): [r["recheck_rate"] for r in periods],
                    _("Failed share of inspected"): [r["failed_share"] for r in periods],
                },
            ),
        ),
        chart(
            "inspections",
            _("Inspection results"),
            pie(
                [
                    (_("Passed"), totals["passed"]),
                    (_("Failed"), totals["failed"]),
                    (_("Waiting for inspection"), totals["pending"]),
                ]
            ),
        ),
        chart(
            "dispensers",
            _("Re-check failure rate by dispenser"),
            bar(
                [r["dispenser"] for r in named],
                {_("Re-check failure rate"): [r["recheck_rate"] for r in named]},
                horizontal=True,
            ),
        ),
    ]
