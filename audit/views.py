from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import has_capability
from core.ids import parse_ids
from prescriptions.models import Prescription
from prescriptions.services import finding_key
from prescriptions.services.checking import age_years

from .exceptions import AuditConflict
from .models import Decision
from .selectors import audit_queue_for, audit_visible_prescription, patient_history
from .services import audit_batch_approve, audit_claim, audit_decide

COMMON_REJECT_REASONS = [
    "配伍禁忌，请调整处方",
    "剂量超出规定范围，请核对",
    "孕妇禁用药，请调整",
    "特殊煎法未注明",
    "诊断与用药不符",
    "重复用药",
]


def _pharmacist(request):
    if not has_capability(request.user, "final_audit"):
        raise PermissionDenied


@login_required
def queue(request):
    _pharmacist(request)
    prescriptions = list(audit_queue_for(request.user)[:200])
    return render(request, "audit/queue.html", {"prescriptions": prescriptions})


@login_required
@require_POST
def batch_approve(request):
    _pharmacist(request)
    ids = parse_ids(request.POST.getlist("ids"))
    decided = audit_batch_approve(
        pharmacist=request.user, prescriptions=list(audit_queue_for(request.user).filter(pk__in=ids))
    )
    messages.success(request, _("%(count)d prescriptions approved.") % {"count": len(decided)})
    return redirect("audit:queue")


@login_required
@require_POST
def claim(request, pk):
    _pharmacist(request)
    prescription = _get(request, pk)
    try:
        audit_claim(pharmacist=request.user, prescription=prescription)
    except AuditConflict as exc:
        messages.error(request, exc.message)
        return redirect("audit:queue")
    return redirect("audit:detail", pk=pk)


def _get(request, pk):
    try:
        return audit_visible_prescription(request.user, pk)
    except Prescription.DoesNotExist:
        raise Http404 from None


@login_required
def detail(request, pk):
    _pharmacist(request)
    prescription = _get(request, pk)
    run = prescription.audit_run
    findings = [{**f, "key": finding_key(f)} for f in run.findings]
    errors = {}
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        reasons = request.POST.getlist("reasons") + [request.POST.get("other_reason", "")]
        overrides = {
            f["key"]: request.POST.get(f"override:{f['key']}", "") for f in findings if f["severity"] == "block"
        }
        try:
            audit_decide(
                pharmacist=request.user,
                prescription=prescription,
                decision=decision,
                reasons=reasons,
                overrides=overrides,
                comment=request.POST.get("comment", ""),
            )
        except AuditConflict as exc:
            messages.error(request, exc.message)
            return redirect("audit:queue")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"decision": exc.messages}
        else:
            label = _("approved") if decision == Decision.APPROVE else _("rejected")
            messages.success(
                request, _("%(number)s %(label)s.") % {"number": prescription.display_number, "label": label}
            )
            return redirect("audit:queue")
    claim_holder = getattr(prescription, "claim", None)
    return render(
        request,
        "audit/detail.html",
        {
            "prescription": prescription,
            "run": run,
            "findings": findings,
            "errors": errors,
            "age": int(age_years(prescription.patient)),
            "history": patient_history(prescription),
            "reject_reasons": COMMON_REJECT_REASONS,
            "claim": claim_holder,
            "can_decide": prescription.status == "ai_audited",
        },
    )
