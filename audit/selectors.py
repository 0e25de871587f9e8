from django.db.models import Case, IntegerField, QuerySet, Value, When

from accounts.permissions import has_capability
from prescriptions.models import Prescription
from prescriptions.workflow import Stage

RISK_ORDER = Case(
    When(risk_level="high", then=Value(0)),
    When(risk_level="low", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def audit_queue_for(pharmacist) -> QuerySet:
    """Prescriptions waiting for this pharmacist's institution: highest risk first, then the
    longest waiting."""
    if not has_capability(pharmacist, "final_audit") or not pharmacist.institution_id:
        return Prescription.objects.none()
    return (
        Prescription.objects.filter(status=Stage.AI_AUDITED, audit_run__routed_to_id=pharmacist.institution_id)
        .select_related("patient", "prescriber", "institution", "audit_run", "claim__pharmacist")
        .annotate(risk_order=RISK_ORDER)
        .order_by("risk_order", "created_at", "pk")
    )


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
