"""Prescription volume: per day, week or month, by institution and by clinician; centre decoction
against self-decoction, delivery against pickup, and the urgent share. Live versions only (a
revised prescription counts once)."""

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from ..charts import bar, chart, line, pie
from ..frame import Table, ratio
from ..models import VolumeDay
from ..pages import Figures
from .common import by_period, clinician_names, institution_names

SUMS = {
    "total": Sum("prescriptions"),
    "self_total": Sum("self_decocted"),
    "picked_up_mode": Sum("pickup"),
    "urgent_total": Sum("urgent"),
}
COLUMNS = [
    ("prescriptions", _("Prescriptions")),
    ("center", _("Decocted by the centre")),
    ("self_decocted", _("Decocted by the patient")),
    ("delivered_mode", _("Delivered")),
    ("picked_up_mode", _("Picked up")),
    ("urgent", _("Urgent")),
    ("urgent_share", _("Urgent share")),
]


def _row(figures: dict) -> dict:
    n = figures["total"] or 0
    self_decocted, pickup, urgent = (figures[k] or 0 for k in ("self_total", "picked_up_mode", "urgent_total"))
    return {
        "prescriptions": n,
        "center": n - self_decocted,
        "self_decocted": self_decocted,
        "delivered_mode": n - pickup,
        "picked_up_mode": pickup,
        "urgent": urgent,
        "urgent_share": ratio(urgent, n),
    }


def volume(filters) -> Figures:
    rows = filters.apply(VolumeDay.objects.all())
    totals = _row(rows.aggregate(**SUMS))
    trend = [{"period": r["period"], **_row(r)} for r in by_period(rows, filters).annotate(**SUMS).order_by("period")]
    per_institution = list(rows.values("institution").annotate(**SUMS).order_by("-total"))
    per_clinician = list(rows.values("prescriber", "institution").annotate(**SUMS).order_by("-total"))
    places = institution_names([r["institution"] for r in per_institution + per_clinician])
    people = clinician_names(r["prescriber"] for r in per_clinician)
    institution_rows = [{"institution": places.get(r["institution"]), **_row(r)} for r in per_institution]
    clinician_rows = [
        {"clinician": people.get(r["prescriber"]), "institution": places.get(r["institution"]), **_row(r)}
        for r in per_clinician
    ]
    return Figures(
        tiles=[
            (_("Prescriptions"), totals["prescriptions"]),
            (_("Decocted by the patient"), totals["self_decocted"]),
            (_("Picked up"), totals["picked_up_mode"]),
            (_("Urgent share"), totals["urgent_share"]),
        ],
        charts=_charts(totals, trend, institution_rows),
        tables=[
            Table("periods", _("Per period"), [("period", _("Period")), *COLUMNS], trend),
            Table("institutions", _("By institution"), [("institution", _("Institution")), *COLUMNS], institution_rows),
            Table(
                "clinicians",
                _("By clinician"),
                [("clinician", _("Clinician")), ("institution", _("Institution")), *COLUMNS],
                clinician_rows,
            ),
        ],
    )


def _charts(totals, trend, institution_rows) -> list:
    x = [r["period"] for r in trend]
    return [
        chart(
            "trend",
            _("Prescriptions per period"),
            line(
                x,
                {
                    _("Decocted by the centre"): [r["center"] for r in trend],
                    _("Decocted by the patient"): [r["self_decocted"] for r in trend],
                },
                stack=True,
                area=True,
            ),
        ),
        chart(
            "handover",
            _("Delivery or pickup"),
            pie([(_("Delivered"), totals["delivered_mode"]), (_("Picked up"), totals["picked_up_mode"])]),
        ),
        chart(
            "institutions",
            _("Prescriptions by institution"),
            bar(
                [r["institution"] for r in institution_rows[:20]],
                {_("Prescriptions"): [r["prescriptions"] for r in institution_rows[:20]]},
                horizontal=True,
            ),
        ),
    ]
