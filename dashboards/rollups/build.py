"""Rebuild every rollup for a span of days: read the milestones of the prescription versions
submitted (or dispensed) in the span with the few columns each rollup needs, count in Python, and
write the rows in bulk. Called only by dashboards.rollups.refresh inside its transaction."""

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter

from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.models import AuditDecision, AuditRun, Decision
from catalogue.models import Herb
from core.bulk import insert_rows
from decoction.models import DispensingRecord
from prescriptions.models import Milestone, Prescription, PrescriptionItem
from prescriptions.workflow import Decoction, DeliveryMode, Stage

from ..models import (
    ConsumptionDay,
    DecisionDay,
    DiagnosisMonth,
    FindingDay,
    HerbMonth,
    QualityDay,
    StageMonth,
    VolumeDay,
)
from .steps import bucket, durations

STAGE_FIELDS = [f"{stage}_at" for stage in Stage.values]


def _write(model, rows) -> None:
    """Insert rollup rows given as dicts of field values (a count not given is the field's
    default, 0) in bulk (core.bulk: COPY on PostgreSQL)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    values = itemgetter(*defaults)
    insert_rows(model, list(defaults), (values({**defaults, **row}) for row in rows))


def local_day(moment: datetime) -> date:
    """The day of `moment` in TIME_ZONE (not a time zone activated for a request)."""
    return moment.astimezone(timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


def _milestones(field: str, first: date, last: date):
    """Milestones whose `field` time falls on the local days first…last, with what rollups read."""
    superseded = Prescription.objects.filter(previous=OuterRef("prescription_id"))
    return (
        Milestone.objects.filter(**{f"{field}__gte": day_start(first), f"{field}__lt": day_start(last + timedelta(1))})
        .annotate(superseded=Exists(superseded))
        .values(
            "prescription_id",
            "institution_id",
            "prescriber_id",
            "status",
            "urgent",
            "decoction",
            "delivery",
            "superseded",
            "dispensed_by_id",
            "recheck_failed_at",
            "prescription__version",
            "prescription__doses",
            "prescription__total",
            "prescription__consult__tcm_disease",
            "prescription__consult__tcm_syndrome",
            "prescription__consult__western_icd10",
            *STAGE_FIELDS,
        )
    )


def _items(field: str, first: date, last: date) -> dict[int, list]:
    span = {
        f"prescription__milestone__{field}__gte": day_start(first),
        f"prescription__milestone__{field}__lt": day_start(last + timedelta(1)),
    }
    lines = defaultdict(list)
    for prescription_id, herb_id, grams in PrescriptionItem.objects.filter(**span).values_list(
        "prescription_id", "herb_id", "grams"
    ):
        lines[prescription_id].append((herb_id, grams))
    return lines


def _by_submit_span(model, first, last):
    return model.objects.filter(
        prescription__milestone__submitted_at__gte=day_start(first),
        prescription__milestone__submitted_at__lt=day_start(last + timedelta(1)),
    )


def _volume(rows, lines, toxic_ids):
    counts = defaultdict(Counter)
    for row in rows:
        if row["superseded"]:
            continue
        c = counts[(local_day(row["submitted_at"]), row["institution_id"], row["prescriber_id"])]
        herbs = lines.get(row["prescription_id"], [])
        c["prescriptions"] += 1
        c["self_decocted"] += row["decoction"] == Decoction.SELF
        c["pickup"] += row["delivery"] == DeliveryMode.PICKUP
        c["urgent"] += row["urgent"]
        c["revised"] += row["prescription__version"] > 1
        c["approved"] += row["approved_at"] is not None
        c["rejected"] += row["status"] == Stage.REJECTED
        c["cancelled"] += row["status"] == Stage.CANCELLED
        c["delivered"] += row["delivered_at"] is not None
        c["picked_up"] += row["picked_up_at"] is not None
        handed = row["delivered_at"] or row["picked_up_at"]
        hours = (handed - row["submitted_at"]).total_seconds() / 3600 if handed else None
        c["within_4h"] += hours is not None and hours <= 4
        c["within_24h"] += hours is not None and hours <= 24
        c["herb_lines"] += len(herbs)
        c["doses"] += row["prescription__doses"]
        c["toxic"] += any(herb in toxic_ids for herb, _g in herbs)
        c["cost"] += row["prescription__total"]
    return [{"day": k[0], "institution_id": k[1], "prescriber_id": k[2], **c} for k, c in counts.items()]


def _diagnoses_and_herbs(rows, lines):
    diagnoses, herbs = Counter(), defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        if row["superseded"]:
            continue
        month = local_day(row["submitted_at"]).replace(day=1)
        who = (month, row["institution_id"], row["prescriber_id"])
        diagnoses[
            (
                *who,
                row["prescription__consult__tcm_disease"] or "",
                row["prescription__consult__tcm_syndrome"] or "",
                row["prescription__consult__western_icd10"] or "",
            )
        ] += 1
        for herb_id, grams in lines.get(row["prescription_id"], []):
            figures = herbs[(*who, herb_id)]
            figures[0] += 1
            figures[1] += grams * row["prescription__doses"]
    return [
        {
            "month": k[0],
            "institution_id": k[1],
            "prescriber_id": k[2],
            "tcm_disease": k[3],
            "tcm_syndrome": k[4],
            "icd10": k[5],
            "prescriptions": n,
        }
        for k, n in diagnoses.items()
    ], [
        {"month": k[0], "institution_id": k[1], "prescriber_id": k[2], "herb_id": k[3], "prescriptions": n, "grams": g}
        for k, (n, g) in herbs.items()
    ]


def _audit(rows, first, last):
    """Findings of every version (revised ones too) and the pharmacists' decisions on them."""
    who = {row["prescription_id"]: row for row in rows}
    runs = dict(_by_submit_span(AuditRun, first, last).values_list("prescription_id", "findings"))
    findings = Counter()
    for prescription_id, found in runs.items():
        row = who.get(prescription_id)
        if row is None:
            continue
        for code, severity in {(f["code"], f["severity"]) for f in found}:
            findings[(local_day(row["submitted_at"]), row["institution_id"], row["prescriber_id"], code, severity)] += 1
    decisions = defaultdict(Counter)
    for prescription_id, pharmacist_id, decision in _by_submit_span(AuditDecision, first, last).values_list(
        "prescription_id", "pharmacist_id", "decision"
    ):
        row = who.get(prescription_id)
        if row is None:
            continue
        found = runs.get(prescription_id) or []
        high = any(f["severity"] == "block" for f in found)
        c = decisions[(local_day(row["submitted_at"]), row["institution_id"], row["prescriber_id"], pharmacist_id)]
        c["versions"] += 1
        c["flagged"] += bool(found)
        c["high_risk"] += high
        c["approved"] += decision == Decision.APPROVE
        c["rejected"] += decision == Decision.REJECT
        c["overridden"] += high and decision == Decision.APPROVE
    return [
        {"day": k[0], "institution_id": k[1], "prescriber_id": k[2], "code": k[3], "severity": k[4], "prescriptions": n}
        for k, n in findings.items()
    ], [dict(day=k[0], institution_id=k[1], prescriber_id=k[2], pharmacist_id=k[3], **c) for k, c in decisions.items()]


def _stages(rows):
    counts = Counter()
    for row in rows:
        times = {stage: row[f"{stage}_at"] for stage in Stage.values}
        month = local_day(row["submitted_at"]).replace(day=1)
        for step, minutes in durations(times, row["decoction"]).items():
            for institution in (row["institution_id"], None):  # None: the county's row
                counts[(month, institution, step, row["urgent"], bucket(minutes))] += 1
    return [
        {"month": k[0], "institution_id": k[1], "step": k[2], "urgent": k[3], "minutes": k[4], "count": n}
        for k, n in counts.items()
    ]


def rebuild_submitted(first: date, last: date) -> None:
    """Rebuild the rollups keyed by submit day for the local days first…last, whole months
    (the monthly rollups are rebuilt for every month the span touches)."""
    rows = [row for row in _milestones("submitted_at", first, last) if row["submitted_at"]]
    lines = _items("submitted_at", first, last)
    toxic_ids = set(Herb.objects.exclude(toxicity="").values_list("pk", flat=True))
    diagnoses, herbs = _diagnoses_and_herbs(rows, lines)
    findings, decisions = _audit(rows, first, last)
    months = (first.replace(day=1), last.replace(day=1))
    for model, field, span in (
        (VolumeDay, "day", (first, last)),
        (FindingDay, "day", (first, last)),
        (DecisionDay, "day", (first, last)),
    ):
        model.objects.filter(**{f"{field}__range": span}).delete()
    _write(VolumeDay, _volume(rows, lines, toxic_ids))
    _write(FindingDay, findings)
    _write(DecisionDay, decisions)
    StageMonth.objects.filter(month__range=months).delete()
    _write(StageMonth, _stages(rows))
    DiagnosisMonth.objects.filter(month__range=months).delete()
    HerbMonth.objects.filter(month__range=months).delete()
    _write(DiagnosisMonth, diagnoses)
    _write(HerbMonth, herbs)


def rebuild_dispensed(first: date, last: date) -> None:
    """Rebuild the rollups keyed by dispensing day (quality, consumption) for first…last."""
    rows = [row for row in _milestones("dispensed_at", first, last) if row["dispensed_at"]]
    lines = _items("dispensed_at", first, last)
    pharmacy = dict(
        DispensingRecord.objects.filter(
            prescription__milestone__dispensed_at__gte=day_start(first),
            prescription__milestone__dispensed_at__lt=day_start(last + timedelta(1)),
        )
        .order_by("created_at", "pk")
        .values_list("prescription_id", "pharmacy_id")
    )
    quality, grams = defaultdict(Counter), Counter()
    for row in rows:
        day = local_day(row["dispensed_at"])
        if row["dispensed_by_id"]:
            c = quality[(day, row["institution_id"], row["dispensed_by_id"])]
            c["dispensed"] += 1
            c["recheck_failed"] += row["recheck_failed_at"] is not None
        if row["prescription_id"] in pharmacy:
            for herb_id, per_dose in lines.get(row["prescription_id"], []):
                grams[(day, pharmacy[row["prescription_id"]], herb_id)] += per_dose * row["prescription__doses"]
    QualityDay.objects.filter(day__range=(first, last)).delete()
    ConsumptionDay.objects.filter(day__range=(first, last)).delete()
    _write(
        QualityDay,
        (dict(day=k[0], institution_id=k[1], dispenser_id=k[2], **c) for k, c in quality.items()),
    )
    _write(ConsumptionDay, ({"day": k[0], "pharmacy_id": k[1], "herb_id": k[2], "grams": g} for k, g in grams.items()))
