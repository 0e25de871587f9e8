"""Who may record a station step for this prescription: the workflow move's capability (asked
through prescriptions.permissions, from the one role table) and the institution scope, the shared
pharmacy that serves the prescription's county. The station capabilities are clinical work
(accounts.roles.ROLE_BOUND): a superuser records a step only with a role that has it, and then,
like anyone with the role, at the pharmacy they are placed at."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import Institution
from accounts.permissions import institution_tree_for
from prescriptions.models import Prescription
from prescriptions.permissions import ensure_can_record_step
from prescriptions.workflow import Stage

from .selectors import pharmacy_for


def can_work_at_pharmacy(actor, pharmacy: Institution, stage: str) -> bool:
    """Staff of `pharmacy` record its steps; a re-check may also be made by a pharmacist of the
    institution above it (the county's lead hospital)."""
    allowed = {pharmacy.pk}
    if stage in (Stage.RECHECKED, Stage.RECHECK_FAILED) and pharmacy.parent_id:
        allowed.add(pharmacy.parent_id)
    return actor.institution_id in allowed


def ensure_station_staff(actor, prescription: Prescription, stage: str) -> Institution:
    """The serving pharmacy, if `actor` may record `stage` there. Raises PermissionDenied for a
    capability the move needs and the actor lacks, or another institution's staff;
    InvalidTransition for a step the table has no move for from the prescription's stage."""
    ensure_can_record_step(actor, prescription, stage)
    pharmacy = pharmacy_for(prescription, institution_tree_for(actor))
    if not can_work_at_pharmacy(actor, pharmacy, stage):
        raise PermissionDenied(_("Only staff of %(pharmacy)s record this step.") % {"pharmacy": pharmacy.name})
    return pharmacy
