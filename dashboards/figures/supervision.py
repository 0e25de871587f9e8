"""The monthly supervision report (监管月报): the county's indicators for one month beside the
month before, and the month's figures per institution, printable.

Indicators, over the live prescription versions submitted in the month (VolumeDay, DecisionDay):
volume; audit pass rate = versions approved / versions decided by a pharmacist; the
irrational-prescription rate of 事后点评 (`reviewed`); herbs per prescription = herb lines /
prescriptions; cost per prescription; toxic-herb share = prescriptions with a toxic herb /
prescriptions; within 4 h and 24 h = handed over (delivered or picked up) that soon after the
submission / handed over. Stuck prescriptions are counted now (StuckFlag not yet resolved), so
they have no previous month. The visiting-expert sessions held in the month, each with its
patients and prescriptions. Ten queries, whatever the month."""

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution
from outreach.selectors import sessions_held
from prescriptions.models import StuckFlag
from teleconsult.selectors import consults_by_clinic

from ..frame import FilterForm, Table, ratio
from ..models import DecisionDay, VolumeDay
from ..pages import Figures
from .common import institution_names
from .months import label, next_month, previous_month
from .review import COUNTS, review_row, sampled_in

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
VOLUME = ("prescriptions", "herb_lines", "toxic", "cost", "delivered", "picked_up", "within_4h", "within_24h")
DECISIONS = ("approved", "rejected")


class SupervisionForm(FilterForm):
    """One month (`month=YYYY-MM`, by default the last complete month) and an institution subtree."""

    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    )

    def __init__(self, data, *, scope, **kwargs):
        if not data.get("month"):  # the field shows the month the report is of
            data = data.copy()
            data["month"] = label(previous_month(timezone.localdate()))
        super().__init__(data, scope=scope, **kwargs)
        for name in ("start", "end", "by", "clinician"):
            self.fields.pop(name, None)
        self.order_fields(["month", "institution"])

    def clean_month(self) -> date:
        text = self.cleaned_data["month"].strip()
        this_month = timezone.localdate().replace(day=1)
        match = MONTH.match(text)
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
            raise forms.ValidationError(_("Give a month as YYYY-MM, e.g. 2026-03."))
        month = date(int(match[1]), int(match[2]), 1)
        if month > this_month:
            raise forms.ValidationError(_("Choose a month that has begun."))
        return month

    def clean(self):
        data = forms.Form.clean(self)
        if "month" in data:
            data["start"], data["end"] = data["month"], next_month(data["month"]) - timedelta(days=1)
            data["by"] = "month"
        return data


def reviewed(filters) -> tuple[int, int] | None:
    """事后点评 of the month's sample in the institutions: (prescriptions scored, found irrational:
    any verdict but appropriate, i.e. 不规范, 用药不适宜 or 超常), or None while there is no score
    to count. One query of the small review tables (figures.review)."""
    counts = review_row(sampled_in(filters).aggregate(**COUNTS))
    return (counts["scored"], counts["irrational"]) if counts["scored"] else None


def _two_months(model, fields, filters, before: date) -> tuple[dict, dict]:
    """The sums of a daily rollup's `fields` in the month and in the month before (one query)."""
    now, was = Q(day__gte=filters.start), Q(day__lt=filters.start)
    sums = (
        replace(filters, start=before)
        .apply(model.objects.all())
        .aggregate(
            **{f"now_{f}": Sum(f, filter=now) for f in fields}, **{f"was_{f}": Sum(f, filter=was) for f in fields}
        )
    )
    return _part(sums, "now_"), _part(sums, "was_")


def _indicators(v: dict, d: dict) -> dict:
    """The month's indicators from its sums (keys without the now_/was_ prefix)."""
    n = v.get("prescriptions") or 0
    handed = (v.get("delivered") or 0) + (v.get("picked_up") or 0)
    return {
        "prescriptions": n,
        "pass_rate": ratio(d.get("approved") or 0, (d.get("approved") or 0) + (d.get("rejected") or 0)),
        "herbs_per_prescription": ratio(v.get("herb_lines") or 0, n, 1),
        "cost_per_prescription": ratio(v.get("cost") or 0, n, 2),
        "toxic_share": ratio(v.get("toxic") or 0, n),
        "within_4h": ratio(v.get("within_4h") or 0, handed),
        "within_24h": ratio(v.get("within_24h") or 0, handed),
    }


def _part(sums: dict, prefix: str) -> dict:
    return {key.removeprefix(prefix): value for key, value in sums.items() if key.startswith(prefix)}


def _stuck(filters) -> int:
    flags = StuckFlag.objects.filter(resolved_at__isnull=True)
    if filters.institution_ids is not None:
        flags = flags.filter(prescription__institution_id__in=filters.institution_ids)
    return flags.count()


def place_of(filters) -> str:
    """The name the report goes under: the top institution(s) of the filters' subtree."""
    tops = Institution.objects.filter(parent__isnull=True)
    if filters.institution_ids is not None:
        tops = Institution.objects.filter(pk__in=filters.institution_ids).exclude(parent__in=filters.institution_ids)
    return "、".join(tops.order_by("code").values_list("name", flat=True))


INDICATORS = [  # (key, title, digits of its change)
    ("prescriptions", _("Prescriptions"), 0),
    ("pass_rate", _("Audit pass rate"), 3),
    ("irrational_rate", _("Irrational-prescription rate (事后点评)"), 3),
    ("herbs_per_prescription", _("Herbs per prescription"), 1),
    ("cost_per_prescription", _("Cost per prescription (yuan)"), 2),
    ("toxic_share", _("Toxic-herb share"), 3),
    ("within_4h", _("Handed over within 4 h"), 3),
    ("within_24h", _("Handed over within 24 h"), 3),
    ("stuck", _("Stuck prescriptions now"), 0),
]
# The month's indicators per institution, less the review rate and the stuck count (live, for the subtree).
PER_INSTITUTION = [
    ("institution", _("Institution")),
    *((key, title) for key, title, _digits in INDICATORS if key not in ("irrational_rate", "stuck")),
]


def _irrational_rate(filters):
    review = reviewed(filters)
    return _("No reviews yet") if review is None else ratio(review[1], review[0])


def _change(now, was, digits: int):
    numbers = (int, float, Decimal)
    return round(now - was, digits) if isinstance(now, numbers) and isinstance(was, numbers) else None


def _per_institution(filters) -> list[dict]:
    """The month's indicators of each institution whose clinicians prescribed in it."""
    volume = filters.apply(VolumeDay.objects.all()).values("institution").annotate(**{f: Sum(f) for f in VOLUME})
    decisions = {
        r["institution"]: r
        for r in filters.apply(DecisionDay.objects.all())
        .values("institution")
        .annotate(**{f: Sum(f) for f in DECISIONS})
        .order_by()
    }
    volume = list(volume.order_by("-prescriptions", "institution"))
    names = institution_names(r["institution"] for r in volume)
    return [
        {"institution": names.get(r["institution"]), **_indicators(r, decisions.get(r["institution"], {}))}
        for r in volume
    ]


SESSIONS = [
    ("date", _("Date")),
    ("time", _("Time")),
    ("centre", _("Health centre")),
    ("expert", _("Expert")),
    ("patients", _("Patients")),
    ("prescriptions", _("Prescriptions")),
]


def _sessions(filters) -> list[dict]:
    """The visiting-expert sessions (巡回坐诊) held in the month in the subtree, with the patients
    seen and the prescriptions written in each (outreach's linked consults). One query."""
    held = sessions_held(start=filters.start, end=filters.end, institution_ids=filters.institution_ids)
    return [
        {
            "date": session.date,
            "time": f"{session.starts_at:%H:%M}-{session.ends_at:%H:%M}",
            "centre": session.institution.name,
            "expert": str(session.expert),
            "patients": session.patients,
            "prescriptions": session.prescriptions,
        }
        for session in held
    ]


REMOTE_CONSULTS = [
    ("clinic", _("Clinic")),
    ("requested", _("Consults requested")),
    ("prescribed", _("Prescribed")),
    ("advised", _("Answered without a prescription")),
    ("withdrawn", _("Withdrawn")),
    ("open", _("Still open")),
    ("minutes_to_claim", _("Median minutes to an expert")),
]


def supervision(filters) -> Figures:
    before = previous_month(filters.start)
    volume, decisions = (
        _two_months(VolumeDay, VOLUME, filters, before),
        _two_months(DecisionDay, DECISIONS, filters, before),
    )
    now, was = _indicators(volume[0], decisions[0]), _indicators(volume[1], decisions[1])
    now["irrational_rate"] = _irrational_rate(filters)
    was["irrational_rate"] = _irrational_rate(replace(filters, start=before, end=filters.start - timedelta(days=1)))
    now["stuck"], was["stuck"] = _stuck(filters), None
    month, previous = label(filters.start), label(before)
    rows = [
        {"indicator": title, "now": now[key], "was": was[key], "change": _change(now[key], was[key], digits)}
        for key, title, digits in INDICATORS
    ]
    return Figures(
        tables=[
            Table(
                "indicators",
                _("Indicators"),
                [
                    ("indicator", _("Indicator")),
                    ("now", month),
                    ("was", previous),
                    ("change", _("Against the month before")),
                ],
                rows,
            ),
            Table(
                "institutions",
                _("By institution, %(month)s") % {"month": month},
                PER_INSTITUTION,
                _per_institution(filters),
            ),
            Table(
                "sessions",
                _("Visiting-expert sessions held, %(month)s") % {"month": month},
                SESSIONS,
                _sessions(filters),
            ),
            Table(
                "remote_consults",
                _("Remote consults requested, %(month)s") % {"month": month},
                REMOTE_CONSULTS,
                consults_by_clinic(start=filters.start, end=filters.end, institution_ids=filters.institution_ids),
            ),
        ],
        live=(_("stuck prescriptions"),),
        extra={"heading": _("%(place)s supervision report, %(month)s") % {"place": place_of(filters), "month": month}},
    )
