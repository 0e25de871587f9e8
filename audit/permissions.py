"""Who may audit a prescription: the `final_audit` capability (the one role table, the same one
the workflow's APPROVED and REJECTED moves name) and the routing: a pharmacist decides only on
prescriptions routed to their own institution. Routing is an assignment, not a view of the
subtree, so a superuser holding the pharmacist role decides only on what is routed to the
institution they are placed at (without the role, a superuser audits nothing). Nobody audits a
prescription they wrote, whatever roles they hold."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.permissions import ensure_capability
from prescriptions.models import Prescription

from .models import AuditRun


def ensure_routed_to(pharmacist, prescription: Prescription) -> AuditRun:
    """The prescription's audit run, if it is routed to `pharmacist`'s institution. Raises
    PermissionDenied without `final_audit` or for a prescription routed elsewhere (or not yet
    audited by the machine)."""
    ensure_capability(pharmacist, "final_audit")
    run = AuditRun.objects.filter(prescription=prescription).first()
    if run is None or run.routed_to_id != pharmacist.institution_id:
        raise PermissionDenied(_("This prescription is not routed to your institution."))
    return run


def ensure_can_decide(pharmacist, prescription: Prescription) -> AuditRun:
    """ensure_routed_to, and `pharmacist` is not the prescription's prescriber: the final audit is
    a second person's check. Raises PermissionDenied."""
    run = ensure_routed_to(pharmacist, prescription)
    if prescription.prescriber_id == pharmacist.pk:
        raise PermissionDenied(_("You cannot audit a prescription you wrote."))
    return run


def ensure_can_review(pharmacist, sample) -> None:
    """A sampled prescription is reviewed by the pharmacists of the institution its audit was
    routed to (`review_prescriptions`), never by its prescriber. Raises PermissionDenied."""
    ensure_capability(pharmacist, "review_prescriptions")
    if sample.routed_to_id != pharmacist.institution_id:
        raise PermissionDenied(_("This prescription is not reviewed at your institution."))
    if sample.prescriber_id == pharmacist.pk:
        raise PermissionDenied(_("You cannot review a prescription you wrote."))
