"""Audit: the machine audit's findings per code, institution and clinician; the pharmacists'
decisions, their rejection rate (rejected of the versions decided) and override rate (approved of
the versions with a block-level finding); how long a decision takes (submitted → approved or
rejected, median and 90th percentile); and the doctor-behaviour view (figures.behaviour). Every
prescription version counts, revised ones too, by the day it was submitted. Decision times are
kept per institution and month, not per clinician: they cover the months the range touches, and a
clinician sees their institution's."""

from collections import defaultdict
from dataclasses import replace

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from rules.data import CODES

from ..charts import bar, chart, line
from ..frame import Table, ratio
from ..models import DecisionDay, FindingDay, StageMonth
from ..pages import Figures
from ..rollups.steps import percentile
from .behaviour import BEHAVIOUR_COLUMNS, FACTOR, MINIMUM, behaviour
from .common import by_period, clinician_names, institution_names

DECISIONS = {key: Sum(key) for key in ("versions", "flagged", "high_risk", "approved", "rejected", "overridden")}
SEVERITY = {"block": _("Block"), "warn": _("Warn"), "info": _("Info")}
DECISION_COLUMNS = [
    ("versions", _("Versions decided")),
    ("flagged", _("With findings")),
    ("flagged_rate", _("Flagged rate")),
    ("rejected", _("Rejected")),
    ("rejection_rate", _("Rejection rate")),
    ("high_risk", _("With block findings")),
    ("overridden", _("Approved over block findings")),
    ("override_rate", _("Override rate")),
]
TIME_COLUMNS = [
    ("median_minutes", _("Median decision time (min)")),
    ("p90_minutes", _("Decision time, 90th percentile (min)")),
]


def decision_row(sums: dict) -> dict:
    """Decision counts with their rates: flagged and rejected of the versions decided, overridden
    of those with a block-level finding."""
    row = {key: sums.get(key) or 0 for key in DECISIONS}
    row["flagged_rate"] = ratio(row["flagged"], row["versions"])
    row["rejection_rate"] = ratio(row["rejected"], row["versions"])
    row["override_rate"] = ratio(row["overridden"], row["high_risk"])
    return row


def decision_times(filters) -> tuple[dict, dict]:
    """(median, p90) minutes from submission to decision, over the scope and per institution id,
    from the stage histograms of the months the range touches (they are kept per month)."""
    histograms, overall = defaultdict(dict), defaultdict(int)
    first, last = filters.months()
    months = replace(filters, start=first, end=last)
    audit_waits = StageMonth.objects.filter(step="audit_wait", institution__isnull=False)
    rows = months.apply(audit_waits, day="month", prescriber=None)
    for institution, minutes, n in rows.values_list("institution", "minutes").annotate(n=Sum("count")).order_by():
        histograms[institution][minutes] = histograms[institution].get(minutes, 0) + n
        overall[minutes] += n
    per_institution = {
        pk: {"median_minutes": percentile(h, 0.5), "p90_minutes": percentile(h, 0.9)} for pk, h in histograms.items()
    }
    return {"median_minutes": percentile(overall, 0.5), "p90_minutes": percentile(overall, 0.9)}, per_institution


def _findings(filters):
    rows = filters.apply(FindingDay.objects.all())
    per_code = [
        {
            "code": r["code"],
            "title": CODES.get(r["code"], (None, r["code"]))[1],
            "severity": SEVERITY.get(r["severity"], r["severity"]),
            "versions": r["n"],
        }
        for r in rows.values("code", "severity").annotate(n=Sum("prescriptions")).order_by("-n", "code")
    ]
    per_institution = dict(rows.values_list("institution").annotate(n=Sum("prescriptions")).order_by())
    per_clinician = dict(rows.values_list("prescriber").annotate(n=Sum("prescriptions")).order_by())
    return per_code, per_institution, per_clinician


FINDING_COLUMNS = [
    ("code", _("Code")),
    ("title", _("Finding")),
    ("severity", _("Severity")),
    ("versions", _("Prescription versions")),
]
INSTITUTION_COLUMNS = [("institution", _("Institution")), *DECISION_COLUMNS, ("findings", _("Findings")), *TIME_COLUMNS]


def _institution_rows(cube, findings_per_institution: dict, times: dict) -> list[dict]:
    per_institution = _fold(cube, "institution")
    places = institution_names(per_institution)
    found = [
        {
            "institution": places.get(institution),
            **decision_row(sums),
            "findings": findings_per_institution.get(institution, 0),
            **times.get(institution, {}),
        }
        for institution, sums in per_institution.items()
    ]
    return sorted(found, key=lambda r: (-r["versions"], r["institution"] or ""))


def _pharmacist_rows(cube) -> list[dict]:
    per_pharmacist = _fold(cube, "pharmacist")
    people = clinician_names(per_pharmacist)
    found = [
        {"pharmacist": people.get(pharmacist), **decision_row(sums)} for pharmacist, sums in per_pharmacist.items()
    ]
    return sorted(found, key=lambda r: (-r["versions"], r["pharmacist"] or ""))


def _decision_cube(filters) -> list[dict]:
    """The decisions summed per period, institution and pharmacist, in one scan of the rollup:
    the page's totals, trend and tables are folded from it (four scans of a year of a county's
    DecisionDay rows took 90 ms at a million prescriptions)."""
    decisions = filters.apply(DecisionDay.objects.all())
    keys = ("period", "institution", "pharmacist")
    return list(by_period(decisions, filters).values(*keys).annotate(**DECISIONS).order_by())


def _fold(cube: list[dict], key: str | None) -> dict:
    """The cube's sums per value of `key` (None: one total, under the key None)."""
    folded = {}
    for row in cube:
        sums = folded.setdefault(row[key] if key else None, dict.fromkeys(DECISIONS, 0))
        for name in DECISIONS:
            sums[name] += row[name] or 0
    return folded


def audit(filters) -> Figures:
    cube = _decision_cube(filters)
    totals = decision_row(_fold(cube, None).get(None, dict.fromkeys(DECISIONS, 0)))
    trend = [{"period": period, **decision_row(sums)} for period, sums in sorted(_fold(cube, "period").items())]
    per_code, findings_per_institution, findings_per_clinician = _findings(filters)
    overall_time, times = decision_times(filters)
    institution_rows = _institution_rows(cube, findings_per_institution, times)
    clinician_rows, county, standing_out = behaviour(filters, findings_per_clinician)
    return Figures(
        tiles=[
            (_("Versions decided"), totals["versions"]),
            (_("Rejection rate"), totals["rejection_rate"]),
            (_("Override rate"), totals["override_rate"]),
            (_("Median decision time (min)"), overall_time["median_minutes"]),
            (_("Clinicians who stand out"), standing_out),
        ],
        charts=_charts(per_code, trend, institution_rows),
        tables=[
            Table("findings", _("Findings per code"), FINDING_COLUMNS, per_code),
            Table("periods", _("Per period"), [("period", _("Period")), *DECISION_COLUMNS], trend),
            Table("institutions", _("By institution"), INSTITUTION_COLUMNS, institution_rows),
            Table("behaviour", _("By clinician"), BEHAVIOUR_COLUMNS, clinician_rows),
            Table(
                "pharmacists",
                _("By pharmacist"),
                [("pharmacist", _("Pharmacist")), *DECISION_COLUMNS],
                _pharmacist_rows(cube),
            ),
        ],
        extra={"county": county, "rule": {"factor": FACTOR, **MINIMUM}},
    )


def _charts(per_code, trend, institution_rows) -> list:
    top = per_code[:15]
    x = [r["period"] for r in trend]
    return [
        chart(
            "findings",
            _("Findings per code"),
            bar([r["title"] for r in top], {_("Prescription versions"): [r["versions"] for r in top]}, horizontal=True),
        ),
        chart(
            "rates",
            _("Rejection and override rates per period"),
            line(
                x,
                {
                    _("Rejection rate"): [r["rejection_rate"] for r in trend],
                    _("Override rate"): [r["override_rate"] for r in trend],
                },
            ),
        ),
        chart(
            "institutions",
            _("Rejection rate by institution"),
            bar(
                [r["institution"] for r in institution_rows[:20]],
                {_("Rejection rate"): [r["rejection_rate"] for r in institution_rows[:20]]},
                horizontal=True,
            ),
        ),
    ]
