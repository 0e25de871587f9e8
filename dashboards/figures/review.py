"""Post-hoc review (事后点评): per month the prescriptions sampled and scored and each verdict's
count, the irrational rate (any verdict but appropriate, of those scored) per clinician and per
institution, and the checklist items found most often. Read live from the review tables, which are
small (about five samples per clinician a month), by the month each sample was drawn for: the
months the date range touches."""

from collections import Counter
from dataclasses import replace

from django.db.models import Count, Max, Q
from django.utils.translation import gettext_lazy as _

from audit.models import ReviewSample, ReviewScore, Verdict
from audit.review.checklist import BY_CODE

from ..charts import bar, chart, line
from ..frame import Table, ratio
from ..pages import Figures
from .common import clinician_names, institution_names

COUNTS = {
    "sampled": Count("pk"),
    "scored": Count("score"),
    **{verdict: Count("score", filter=Q(score__verdict=verdict)) for verdict in Verdict.values},
}
COLUMNS = [
    ("sampled", _("Sampled")),
    ("scored", _("Reviewed")),
    *((verdict, label) for verdict, label in Verdict.choices),
    ("irrational", _("Irrational")),
    ("irrational_rate", _("Irrational rate")),
]


def sampled_in(filters, *, whole_county: bool = False):
    """The samples of the months the filters' range touches, in their scope (of the whole county
    with `whole_county`, for the rate a clinician's is compared with)."""
    first, last = filters.months()
    if whole_county:
        return ReviewSample.objects.filter(round__month__range=(first, last))
    return replace(filters, start=first, end=last).apply(ReviewSample.objects.all(), day="round__month")


def review_row(counts: dict) -> dict:
    row = {key: counts.get(key) or 0 for key in COUNTS}
    row["irrational"] = row["scored"] - row[Verdict.APPROPRIATE]
    row["irrational_rate"] = ratio(row["irrational"], row["scored"])
    return row


def review_per_clinician(filters) -> dict[int, dict]:
    """prescriber id → review_row of the clinician's samples in the filters, with an institution
    they wrote them at (`at`: the highest id of several)."""
    rows = sampled_in(filters).values("prescriber").annotate(**COUNTS, at=Max("institution")).order_by()
    return {r["prescriber"]: {**review_row(r), "at": r["at"]} for r in rows}


def top_reasons(samples) -> list[dict]:
    """The checklist items of the scores of `samples`, most found first."""
    found = Counter()
    for reasons in ReviewScore.objects.filter(sample__in=samples).values_list("reasons", flat=True):
        found.update(reasons)
    return [
        {
            "code": code,
            "category": Verdict(BY_CODE[code][0]).label if code in BY_CODE else "",
            "item": BY_CODE[code][1].text if code in BY_CODE else code,
            "scores": n,
        }
        for code, n in sorted(found.items(), key=lambda pair: (-pair[1], pair[0]))
    ]


def review(filters) -> Figures:
    samples = sampled_in(filters)
    totals = review_row(samples.aggregate(**COUNTS))
    months = [
        {"month": r["round__month"], **review_row(r)}
        for r in samples.values("round__month").annotate(**COUNTS).order_by("round__month")
    ]
    per_institution = list(samples.values("institution").annotate(**COUNTS).order_by("institution"))
    per_clinician = list(samples.values("prescriber", "institution").annotate(**COUNTS).order_by("prescriber"))
    places = institution_names(r["institution"] for r in per_institution + per_clinician)
    people = clinician_names(r["prescriber"] for r in per_clinician)
    institution_rows = sorted(
        ({"institution": places.get(r["institution"]), **review_row(r)} for r in per_institution),
        key=lambda r: (-(r["irrational_rate"] or 0), r["institution"] or ""),
    )
    clinician_rows = sorted(
        (
            {"clinician": people.get(r["prescriber"]), "institution": places.get(r["institution"]), **review_row(r)}
            for r in per_clinician
        ),
        key=lambda r: (-(r["irrational_rate"] or 0), r["clinician"] or ""),
    )
    reasons = top_reasons(samples)
    return Figures(
        tiles=[
            (_("Sampled"), totals["sampled"]),
            (_("Reviewed"), totals["scored"]),
            (_("Still to review"), totals["sampled"] - totals["scored"]),
            (_("Irrational rate"), totals["irrational_rate"]),
        ],
        charts=_charts(months, reasons),
        tables=[
            Table("months", _("Per month"), [("month", _("Month")), *COLUMNS], months),
            Table("institutions", _("By institution"), [("institution", _("Institution")), *COLUMNS], institution_rows),
            Table(
                "clinicians",
                _("By clinician"),
                [("clinician", _("Clinician")), ("institution", _("Institution")), *COLUMNS],
                clinician_rows,
            ),
            Table(
                "reasons",
                _("Reasons found"),
                [("code", _("Item")), ("category", _("Category")), ("item", _("Reason")), ("scores", _("Reviews"))],
                reasons,
            ),
        ],
        live=(_("the review samples and scores"),),
    )


def _charts(months, reasons) -> list:
    x = [r["month"].strftime("%Y-%m") for r in months]
    top = reasons[:10]
    return [
        chart(
            "verdicts",
            _("Verdicts per month"),
            bar(x, {label: [r[verdict] for r in months] for verdict, label in Verdict.choices}, stack=True),
        ),
        chart(
            "irrational",
            _("Irrational rate per month"),
            line(x, {_("Irrational rate"): [r["irrational_rate"] for r in months]}),
        ),
        chart(
            "reasons",
            _("Reasons found most often"),
            bar(
                [f"{r['code']} {r['item'][:16]}" for r in top],
                {_("Reviews"): [r["scores"] for r in top]},
                horizontal=True,
            ),
        ),
    ]
