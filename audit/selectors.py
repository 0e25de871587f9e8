from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.permissions import has_capability
from prescriptions.models import Prescription
from prescriptions.workflow import Stage

RISK_ORDER = Case(
    When(risk_level="high", then=Value(0)),
    When(risk_level="low", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


RISK_RANK = {"high": 0, "low": 1}  # RISK_ORDER in Python; any other level ranks 2


def audit_queue_for(pharmacist, *, institution=None, prescriber=None, finding=None, urgent=None) -> QuerySet:
    """Prescriptions waiting for this pharmacist's institution: highest risk first, then the
    longest waiting. Narrowed, when given, to one prescribing institution (id), one prescriber
    (id), one finding code of the machine audit, or urgent (True) or not (False) prescriptions."""
    if not has_capability(pharmacist, "final_audit") or not pharmacist.institution_id:
        return Prescription.objects.none()
    queue = Prescription.objects.filter(status=Stage.AI_AUDITED, audit_run__routed_to_id=pharmacist.institution_id)
    if institution is not None:
        queue = queue.filter(institution_id=institution)
    if prescriber is not None:
        queue = queue.filter(prescriber_id=prescriber)
    if finding:
        # The findings are a JSON list of objects; its text holds `"code": "<code>"` on SQLite
        # and PostgreSQL alike (codes are plain ASCII, checked against rules.data.CODES first).
        queue = queue.filter(audit_run__findings__icontains=f'"code": "{finding}"')
    if urgent is not None:
        queue = queue.filter(urgent=urgent)
    return (
        queue.select_related("patient", "prescriber", "institution", "audit_run", "claim__pharmacist")
        .annotate(risk_order=RISK_ORDER)
        .order_by("risk_order", "created_at", "pk")
    )


def audit_queue_next(pharmacist, *, after: Prescription, **filters) -> Prescription | None:
    """The prescription after `after` in the pharmacist's queue (audit_queue_for with the same
    filters, the same order), skipping those another pharmacist holds; from the top again when
    `after` was the last. None when nothing else is waiting."""
    rank = RISK_RANK.get(after.risk_level, 2)
    queue = (
        audit_queue_for(pharmacist, **filters)
        .exclude(pk=after.pk)
        .filter(Q(claim__isnull=True) | Q(claim__expires_at__lt=timezone.now()) | Q(claim__pharmacist=pharmacist))
    )
    later = (
        Q(risk_order__gt=rank)
        | Q(risk_order=rank, created_at__gt=after.created_at)
        | Q(risk_order=rank, created_at=after.created_at, pk__gt=after.pk)
    )
    return queue.filter(later).first() or queue.first()


def audit_visible_prescription(pharmacist, pk: int) -> Prescription:
    """A prescription routed to the pharmacist's institution (any status), or DoesNotExist."""
    if not has_capability(pharmacist, "final_audit") or not pharmacist.institution_id:
        raise Prescription.DoesNotExist
    return (
        Prescription.objects.filter(audit_run__routed_to_id=pharmacist.institution_id)
        .select_related("patient", "prescriber", "institution", "consult", "audit_run")
        .prefetch_related("items", "events", "patient__allergies")
        .get(pk=pk)
    )


def patient_history(prescription: Prescription, limit: int = 5) -> QuerySet:
    return (
        Prescription.objects.filter(patient_id=prescription.patient_id)
        .exclude(pk=prescription.pk)
        .prefetch_related("items")
        .order_by("-created_at")[:limit]
    )


def audit_outcome(prescription) -> tuple:
    """(AuditRun or None, AuditDecision or None) of a prescription, for the pages and API that
    show a prescription with its audit."""
    from .models import AuditDecision, AuditRun

    run = AuditRun.objects.filter(prescription=prescription).first()
    decision = AuditDecision.objects.filter(prescription=prescription).select_related("pharmacist").first()
    return run, decision


def audit_summary(run) -> dict | None:
    if run is None:
        return None
    return {
        "risk_level": run.risk_level,
        "rule_version": run.rule_version,
        "engine_version": run.engine_version,
        "findings": run.findings,
        "audited_at": run.created_at,
    }


def decision_summary(decision) -> dict | None:
    if decision is None:
        return None
    return {
        "decision": decision.decision,
        "pharmacist": str(decision.pharmacist),
        "reasons": decision.reasons,
        "overrides": decision.overrides,
        "comment": decision.comment,
        "at": decision.created_at,
    }
