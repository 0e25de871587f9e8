"""The machine pre-audit of submitted prescriptions and the pharmacist's final audit."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Institution
from accounts.roles import Role
from core.faults import pause_point
from prescriptions.exceptions import ConcurrentTransition
from prescriptions.models import Prescription
from prescriptions.services import draft_for_audit, finding_key, prescription_transition
from prescriptions.services.checking import others_for_audit
from prescriptions.workflow import Stage
from rules.drafts import parse_draft
from rules.engine import ENGINE_VERSION, Finding, Severity, risk_level
from rules.services import check_draft, live_snapshot

from .exceptions import AuditConflict
from .models import AuditClaim, AuditDecision, AuditRun, Decision
from .permissions import ensure_can_decide

logger = logging.getLogger(__name__)
CLAIM_MINUTES = 10


def prescription_draft(prescription: Prescription) -> dict:
    items = [
        {"herb": item.written_name, "grams": item.grams, "instruction": item.instruction}
        for item in prescription.items.all()
    ]
    return draft_for_audit(
        patient=prescription.patient,
        pregnancy=prescription.consult.pregnancy,
        weight_kg=prescription.consult.weight_kg,
        doses=prescription.doses,
        items=items,
        others=others_for_audit(prescription.patient, previous=prescription),
    )


def auditing_institution(institution: Institution) -> Institution:
    """Who audits prescriptions of `institution`: its configured `audited_by`, else the nearest
    institution at or above it with active pharmacists, else the top of the tree."""
    node = institution
    while node is not None:
        if node.audited_by_id:
            return node.audited_by
        if node.staff.filter(is_active=True, groups__name=Role.PHARMACIST).exists():
            return node
        if node.parent_id is None:
            return node
        node = node.parent
    return institution


def audit_run(*, prescription_id: int) -> AuditRun | None:
    """Audit a submitted prescription once: store the run, move it to `ai_audited` with its risk
    level and the trace event, all in one transaction. A second call finds the run and does
    nothing; a prescription no longer `submitted` (e.g. cancelled) is left alone.

    The run keeps the findings and rule version the submit checked (what the clinician saw and
    signed for) instead of running the engine again; `duration_ms` is that check's time — as long
    as that rule version is still the live one. A prescription checked under an older version (a
    version published in between: a lower cap must still stop it) or submitted before the submit
    stored its check is checked here, once, with the live rules; a new block finding then has no
    double signature, so the pharmacist can only reject it."""
    existing = AuditRun.objects.filter(prescription_id=prescription_id).first()
    if existing:
        return existing
    prescription = Prescription.objects.select_related("institution").filter(pk=prescription_id).first()
    if prescription is None or prescription.status != Stage.SUBMITTED:
        return None
    if prescription.precheck_rule_version != live_snapshot().version:
        findings, rule_version, duration_ms = check_draft(prescription_draft(prescription))
    else:
        findings = prescription.precheck_findings
        rule_version, duration_ms = prescription.precheck_rule_version, prescription.precheck_duration_ms
    risk = risk_level([Finding.from_dict(f) for f in findings])
    try:
        with transaction.atomic():
            run = AuditRun.objects.create(
                prescription=prescription,
                rule_version=rule_version,
                engine_version=ENGINE_VERSION,
                duration_ms=duration_ms,
                findings=findings,
                risk_level=risk,
                routed_to=auditing_institution(prescription.institution),
            )
            prescription_transition(
                prescription=prescription,
                to=Stage.AI_AUDITED,
                actor=None,
                changes={"risk_level": risk},
                data={"risk": risk, "findings": len(findings), "rule_version": rule_version},
            )
            pause_point("audit.in_transaction")  # test-only (core.faults); a no-op in production
    except (IntegrityError, ConcurrentTransition):
        # Another worker audited it (or it was cancelled) at the same moment: nothing to do.
        return AuditRun.objects.filter(prescription_id=prescription_id).first()
    pause_point("audit.after_commit")  # test-only (core.faults); a no-op in production
    return run


@transaction.atomic
def audit_claim(*, pharmacist, prescription: Prescription, now=None) -> AuditClaim:
    """Take a prescription to decide on it. Raises AuditConflict while another pharmacist holds
    an unexpired claim; the same pharmacist claiming again extends it. Raises PermissionDenied
    for a prescription not routed to the pharmacist or written by them (ensure_can_decide)."""
    ensure_can_decide(pharmacist, prescription)
    now = now or timezone.now()
    expires = now + timedelta(minutes=CLAIM_MINUTES)
    claims = AuditClaim.objects.filter(prescription=prescription)
    claimed = claims.filter(pharmacist=pharmacist).update(expires_at=expires)
    if not claimed:  # take over a claim that has run out
        claimed = claims.filter(expires_at__lt=now).update(pharmacist=pharmacist, expires_at=expires)
    if not claimed:
        try:
            with transaction.atomic():
                AuditClaim.objects.create(prescription=prescription, pharmacist=pharmacist, expires_at=expires)
        except IntegrityError:
            holder = AuditClaim.objects.select_related("pharmacist").get(prescription=prescription)
            raise AuditConflict(
                _("%(name)s is auditing this prescription (until %(time)s).")
                % {"name": holder.pharmacist, "time": timezone.localtime(holder.expires_at).strftime("%H:%M")}
            ) from None
    return AuditClaim.objects.get(prescription=prescription)


@transaction.atomic
def audit_decide(
    *, pharmacist, prescription: Prescription, decision: str, reasons=(), overrides=None, comment="", now=None
) -> AuditDecision:
    """Approve or reject. Rejecting needs at least one reason. Approving despite block-level
    findings needs a written reason per finding and the prescriber's double signature. Exactly one
    decision per prescription version: a concurrent second decision raises AuditConflict. Raises
    PermissionDenied for a prescription not routed to the pharmacist or written by them
    (ensure_can_decide)."""
    run = ensure_can_decide(pharmacist, prescription)
    prescription.refresh_from_db(fields=["status", "double_signature"])
    now = now or timezone.now()
    holder = AuditClaim.objects.filter(prescription=prescription, expires_at__gte=now).exclude(pharmacist=pharmacist)
    if holder.exists():
        raise AuditConflict(_("Another pharmacist is auditing this prescription."))
    if prescription.status != Stage.AI_AUDITED or AuditDecision.objects.filter(prescription=prescription).exists():
        raise AuditConflict(_("This prescription has already been decided."))
    reasons = [str(r).strip()[:300] for r in reasons if str(r).strip()]
    overrides = {str(k): str(v).strip()[:300] for k, v in (overrides or {}).items() if str(v).strip()}
    if decision == Decision.REJECT:
        if not reasons:
            raise ValidationError({"reasons": [_("Give at least one reason for rejecting.")]})
        to = Stage.REJECTED
    elif decision == Decision.APPROVE:
        blocking = [f for f in run.findings if f["severity"] == Severity.BLOCK]
        errors = {}
        if blocking and not prescription.double_signature:
            errors["overrides"] = [_("Block-level findings without the prescriber's double signature: reject instead.")]
        missing = [f["message"] for f in blocking if finding_key(f) not in overrides]
        if missing:
            errors.setdefault("overrides", []).extend(
                _("Give a reason to approve despite: %(message)s") % {"message": m} for m in missing
            )
        if errors:
            raise ValidationError(errors)
        to = Stage.APPROVED
    else:
        raise ValidationError({"decision": [_("Choose approve or reject.")]})
    try:
        with transaction.atomic():
            made = AuditDecision.objects.create(
                prescription=prescription,
                pharmacist=pharmacist,
                decision=decision,
                reasons=reasons,
                overrides=overrides,
                comment=str(comment)[:500],
            )
            prescription_transition(
                prescription=prescription,
                to=to,
                actor=pharmacist,
                data={"decision": decision, "reasons": reasons, "overrides": overrides, "comment": str(comment)[:500]},
            )
    except (IntegrityError, ConcurrentTransition):
        raise AuditConflict(_("Another pharmacist decided this prescription first.")) from None
    AuditClaim.objects.filter(prescription=prescription).delete()
    return made


def audit_batch_approve(*, pharmacist, prescriptions) -> list[AuditDecision]:
    """Approve every given prescription whose audit found nothing; others are skipped."""
    decided = []
    for prescription in prescriptions:
        run = AuditRun.objects.filter(prescription=prescription).first()
        if run is None or run.findings:
            continue
        try:
            decided.append(
                audit_decide(
                    pharmacist=pharmacist,
                    prescription=prescription,
                    decision=Decision.APPROVE,
                    comment=_("Batch approval: no findings"),
                )
            )
        except (AuditConflict, PermissionDenied, ValidationError) as exc:
            logger.info("batch approve skipped %s: %s", prescription.pk, exc)
    return decided


def recent_drafts(*, days: int):
    """(draft, patient context) of every prescription of the last `days` days, for what-if replays."""
    since = timezone.now() - timedelta(days=days)
    prescriptions = (
        Prescription.objects.filter(created_at__gte=since)
        .select_related("patient", "consult")
        .prefetch_related("items", "patient__allergies")
    )
    for prescription in prescriptions.iterator(chunk_size=200):
        yield parse_draft(prescription_draft(prescription))
