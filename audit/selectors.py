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
