"""The doctor-behaviour view: each clinician's rejection, flagged, override and irrational rates
beside the county's, and which of them stand out.

A clinician's rate STANDS OUT when it is above zero and at least FACTOR (twice) the county's rate
over the same dates (every institution of the county, whatever the page's institution and
clinician filters: the standard is the county's), and it rests on enough of the clinician's own
prescriptions, MINIMUM of its denominator:
- rejection rate: rejected of the versions decided, at least 20 decided;
- flagged rate: versions the machine audit found something in, of those decided, at least 20;
- override rate: approved over a block-level finding, of the versions with one, at least 5;
- irrational rate: any verdict but appropriate, of the prescriptions reviewed after the fact (in
  the months the dates touch), at least 10 reviewed.
The comparison is made on the counts, not on the rounded rates."""

from django.db.models import Max, Sum
from django.utils.translation import gettext_lazy as _

from ..frame import ratio
from ..models import DecisionDay
from .common import clinician_names, institution_names
from .review import COUNTS, review_per_clinician, review_row, sampled_in

FACTOR = 2
# rate → (numerator, denominator)
RATES = {
    "rejection_rate": ("rejected", "versions"),
    "flagged_rate": ("flagged", "versions"),
    "override_rate": ("overridden", "high_risk"),
    "irrational_rate": ("irrational", "scored"),
}
MINIMUM = {"versions": 20, "high_risk": 5, "scored": 10}  # of a rate's denominator
RATE_LABELS = {
    "rejection_rate": _("Rejection rate"),
    "flagged_rate": _("Flagged rate"),
    "override_rate": _("Override rate"),
    "irrational_rate": _("Irrational rate"),
}
BEHAVIOUR_COLUMNS = [
    ("clinician", _("Clinician")),
    ("institution", _("Institution")),
    ("versions", _("Versions decided")),
    ("findings", _("Findings")),
    ("rejection_rate", _("Rejection rate")),
    ("flagged_rate", _("Flagged rate")),
    ("high_risk", _("With block findings")),
    ("override_rate", _("Override rate")),
    ("scored", _("Reviewed")),
    ("irrational_rate", _("Irrational rate")),
    ("stands_out", _("Stands out")),
]
SUMS = {key: Sum(key) for key in ("versions", "flagged", "high_risk", "rejected", "overridden")}


def _counts(sums: dict) -> dict:
    return {key: sums.get(key) or 0 for key in SUMS}


def county_figures(filters) -> dict:
    """The county's counts and rates over the filters' date range, every institution."""
    decided = _counts(DecisionDay.objects.filter(day__range=(filters.start, filters.end)).aggregate(**SUMS))
    reviewed = review_row(sampled_in(filters, whole_county=True).aggregate(**COUNTS))
    return _with_rates({**decided, "scored": reviewed["scored"], "irrational": reviewed["irrational"]})


def _with_rates(counts: dict) -> dict:
    return {**counts, **{rate: ratio(counts[num], counts[den]) for rate, (num, den) in RATES.items()}}


def standing_out(row: dict, county: dict) -> list[str]:
    """The rates of `row` that stand out against `county` (see the module's rule)."""
    found = []
    for rate, (num, den) in RATES.items():
        if row[den] < MINIMUM[den] or not row[num] or not county[den]:
            continue
        # row[num] / row[den] ≥ FACTOR × county[num] / county[den], in whole numbers
        if row[num] * county[den] >= FACTOR * county[num] * row[den]:
            found.append(rate)
    return found


def behaviour(filters, findings_per_clinician: dict) -> tuple[list[dict], dict, int]:
    """(a row per clinician in the filters, those standing out first; the county's figures; how
        many stand out). A clinician who wrote at several institutions in the range is shown at one of
    them (the one with the highest id)."""
    county = county_figures(filters)
    decisions = filters.apply(DecisionDay.objects.all()).values("prescriber")
    decided = {r["prescriber"]: r for r in decisions.annotate(**SUMS, at=Max("institution")).order_by()}
    reviewed = review_per_clinician(filters)
    people = clinician_names(set(decided) | set(reviewed))
    places = institution_names(r["at"] for r in (*decided.values(), *reviewed.values()))
    rows = []
    for prescriber in set(decided) | set(reviewed):
        review = reviewed.get(prescriber, {"scored": 0, "irrational": 0, "at": None})
        counts = {
            **_counts(decided.get(prescriber, {})),
            "scored": review["scored"],
            "irrational": review["irrational"],
        }
        row = _with_rates(counts)
        out = standing_out(row, county)
        rows.append(
            {
                "clinician": people.get(prescriber),
                "institution": places.get(decided.get(prescriber, review)["at"]),
                "findings": findings_per_clinician.get(prescriber, 0),
                **row,
                "stands_out": "、".join(str(RATE_LABELS[rate]) for rate in out),
                "out": out,
            }
        )
    rows.sort(key=lambda r: (not r["out"], -r["versions"], r["clinician"] or ""))
    return rows, county, sum(bool(r["out"]) for r in rows)
