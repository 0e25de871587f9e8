"""The patient portrait (issue 18): one patient's visits, diagnoses over time, herbs and grams per
month, the audit findings of their prescriptions, their allergies and their deliveries.

Why in pipeline/: the portrait reads a patient's prescriptions together with their machine audit
(audit/) and their delivery stops (delivery/). patients/ sits on a floor below prescriptions and
may import none of them (.importlinter); dashboards/ reads only rollups, so that its pages cost
the same at a million prescriptions as at ten thousand, and one patient's record is not a rollup.
pipeline/ is the floor that already composes a prescription's whole journey (its page, its API).

Who may open it is patients' one rule, patients.permissions.patients_visible_to (`view_patients`,
the patient's institution inside the reader's subtree). A visible patient's portrait is their
whole record: every prescription written for them, whichever institution of the county wrote it
(a clinician above the patient's institution may prescribe for them), as the cross-prescription
check reads it; a prescription links to its page only where the reader may open that page.

A patient has at most hundreds of prescriptions, so they are read directly, in the same few
queries however many there are: the patient and their allergies, the consults, the prescriptions
with their milestone and audit run, their herb lines, their delivery stops."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import can_see_institution
from catalogue.models import Herb
from constitution.models import ConstitutionAssessment
from constitution.selectors import latest_assessment
from delivery.models import DeliveryStop, StopStatus
from patients.models import Consult, Patient
from patients.permissions import patients_visible_to
from prescriptions.models import Prescription, PrescriptionItem
from prescriptions.workflow import Stage
from rules.data import CODES, Severity

# Herbs per month in the table, and herbs drawn in the chart.
TOP_HERBS = 5
# Prescriptions the patient was not to take: left out of the herbs and grams.
NOT_TAKEN = (Stage.REJECTED, Stage.CANCELLED)
SEVERITY_LABELS = {Severity.BLOCK: _("Block"), Severity.WARN: _("Warn"), Severity.INFO: _("Info")}


@dataclass
class Portrait:
    patient: Patient
    allergies: list[str]
    visits: list[Consult]  # newest first; a revision's consult, not the one it replaced
    diagnoses: list[dict]  # one per diagnosis, the latest seen first
    herb_months: list[dict]  # {"month", "herbs": [{"name", "prescriptions", "grams"}]}, newest first
    findings: list[dict]  # newest first
    finding_codes: list[dict]  # per finding code: the most severe first, then the most frequent
    deliveries: list[dict]  # one per prescription version, newest first
    openable: set[int] = field(default_factory=set)  # prescriptions whose page the reader may open
    constitution: ConstitutionAssessment | None = None  # the latest constitution assessment (issue 22)

    @property
    def age(self) -> int:
        return self.patient.age_on(timezone.localdate())

    @property
    def months(self) -> list[date]:
        """Every month from the first visit or prescription to the last, oldest first."""
        seen = [visit["month"] for visit in self.visit_months] + [row["month"] for row in self.herb_months]
        return month_span(min(seen), max(seen)) if seen else []

    @property
    def visit_months(self) -> list[dict]:
        counts = defaultdict(int)
        for visit in self.visits:
            counts[month_of(visit.created_at)] += 1
        return [{"month": month, "visits": n} for month, n in sorted(counts.items())]


def month_of(moment) -> date:
    return timezone.localtime(moment).date().replace(day=1)


def month_span(first: date, last: date) -> list[date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def patient_portrait(user, patient_id: int) -> Portrait:
    """The portrait of a patient `user` may see. Raises Patient.DoesNotExist for a patient that does
    not exist or that the user may not see (the same answer for both)."""
    patient = (
        patients_visible_to(user)
        .prefetch_related(Prefetch("allergies", queryset=Herb.objects.only("name").order_by("name")))
        .get(pk=patient_id)
    )
    prescriptions = _prescriptions(patient)
    findings = _findings(prescriptions)
    # A revision is the rejected prescription written again, with a consult of its own: the visit
    # is the live version's consult, as the dashboards' diagnosis mix counts it.
    revised = {p.previous_id for p in prescriptions if p.previous_id}
    rewritten = {p.consult_id for p in prescriptions if p.pk in revised}
    consults = Consult.objects.filter(patient=patient).exclude(pk__in=rewritten)
    visits = list(consults.select_related("clinician", "institution").order_by("-created_at", "-pk"))
    return Portrait(
        patient=patient,
        allergies=[herb.name for herb in patient.allergies.all()],
        visits=visits,
        diagnoses=_diagnoses(visits),
        herb_months=herb_months(prescriptions, revised),
        findings=findings,
        finding_codes=_finding_codes(findings),
        deliveries=[_delivery(p) for p in prescriptions],
        openable={p.pk for p in prescriptions if can_see_institution(user, p.institution_id)},
        constitution=latest_assessment(patient),
    )


def _prescriptions(patient: Patient) -> list[Prescription]:
    """Every version of the patient's prescriptions, newest first: three queries."""
    items = PrescriptionItem.objects.select_related("herb").only("prescription_id", "position", "grams", "herb__name")
    return list(
        Prescription.objects.filter(patient=patient)
        .select_related("milestone", "audit_run")
        .prefetch_related(
            Prefetch("items", queryset=items),
            Prefetch("delivery_stops", queryset=DeliveryStop.objects.order_by("pk")),
        )
        .order_by("-created_at", "-pk")
    )


def _diagnoses(visits: list[Consult]) -> list[dict]:
    """Each TCM disease and syndrome the visits recorded: the ICD-10 codes and western diagnoses
    recorded with it (where any were), its first and last visit and how many visits; the latest
    seen first."""
    rows: dict[tuple, dict] = {}
    for visit in reversed(visits):  # oldest first
        day = timezone.localtime(visit.created_at).date()
        row = rows.setdefault(
            (visit.tcm_disease, visit.tcm_syndrome),
            {"tcm_disease": visit.tcm_disease, "tcm_syndrome": visit.tcm_syndrome, "icd10": [], "western": []},
        )
        row.setdefault("first", day)
        row["last"], row["visits"] = day, row.get("visits", 0) + 1
        for key, value in (("icd10", visit.western_icd10), ("western", visit.western_diagnosis)):
            if value and value not in row[key]:
                row[key].append(value)
    return sorted(rows.values(), key=lambda row: row["last"], reverse=True)


def herb_months(prescriptions: list[Prescription], revised: set[int]) -> list[dict]:
    """Per month of submission, the herbs of the prescriptions the patient was to take (the live
    version of each: neither revised into a newer one, rejected nor cancelled): how many
    prescriptions named each herb and its grams (grams per dose × doses); the TOP_HERBS most
    named first (then the most grams), newest month first. `revised`: the ids of the versions a
    revision replaced."""
    figures: dict[date, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0)]))
    for p in prescriptions:
        if p.pk in revised or p.status in NOT_TAKEN:
            continue
        month = figures[month_of(p.created_at)]
        for name in {item.herb.name for item in p.items.all()}:
            month[name][0] += 1
        for item in p.items.all():
            month[item.herb.name][1] += item.grams * p.doses
    return [
        {"month": month, "herbs": _top(herbs, TOP_HERBS), "all": _top(herbs, None)}
        for month, herbs in sorted(figures.items(), reverse=True)
    ]


def _top(herbs: dict[str, list], limit: int | None) -> list[dict]:
    ranked = sorted(herbs.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    return [{"name": name, "prescriptions": n, "grams": grams} for name, (n, grams) in ranked[:limit]]


def _findings(prescriptions: list[Prescription]) -> list[dict]:
    """The machine audit's findings of every version (a revised one's too: it was written so)."""
    rows = []
    for p in prescriptions:
        run = getattr(p, "audit_run", None)
        for finding in run.findings if run else []:
            code, severity = finding.get("code", ""), finding.get("severity", "")
            rows.append(
                {
                    "at": run.created_at,
                    "prescription": p,
                    "code": code,
                    "title": CODES[code][1] if code in CODES else code,
                    "severity": severity,
                    "severity_label": SEVERITY_LABELS.get(severity, severity),
                    "message": finding.get("message", ""),
                }
            )
    return rows


def _finding_codes(findings: list[dict]) -> list[dict]:
    """Per finding code: its title and severity, how many prescription versions it was found in
    and the latest date."""
    codes: dict[str, dict] = {}
    for finding in findings:  # newest first
        row = codes.setdefault(finding["code"], {**finding, "prescriptions": set()})
        row["prescriptions"].add(finding["prescription"].pk)
    rows = [{**row, "prescriptions": len(row["prescriptions"])} for row in codes.values()]
    return sorted(rows, key=lambda row: (Severity.ORDER.get(row["severity"], 3), -row["prescriptions"], row["code"]))


def _delivery(p: Prescription) -> dict:
    """How a prescription version reached the patient: its stage, when it left and arrived (or was
    picked up), and each failed delivery attempt's reason."""
    milestone = getattr(p, "milestone", None)
    failed = [stop for stop in p.delivery_stops.all() if stop.status == StopStatus.FAILED or stop.failure_reason]
    return {
        "prescription": p,
        "shipped_at": milestone.shipped_at if milestone else None,
        "delivered_at": milestone.delivered_at if milestone else None,
        "picked_up_at": milestone.picked_up_at if milestone else None,
        "failed": [stop.failure_reason for stop in failed],
    }
