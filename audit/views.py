from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Institution, User
from accounts.permissions import has_capability
from core.ids import parse_id, parse_ids
from prescriptions.models import Prescription
from prescriptions.services import finding_key
from prescriptions.services.checking import age_years
from rules.data import CODES

from .exceptions import AuditConflict
from .models import Decision
from .selectors import audit_queue_for, audit_queue_next, audit_visible_prescription, patient_history
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


QUEUE_PAGE_SIZE = 50
URGENCY = {"1": True, "0": False}


def queue_filters(params) -> dict:
    """The queue's filters from a query string, as audit_queue_for takes them; an unreadable or
    unknown value is no filter."""
    finding = params.get("finding", "")
    filters = {
        "institution": parse_id(params.get("institution", "")),
        "prescriber": parse_id(params.get("prescriber", "")),
        "finding": finding if finding in CODES else None,
        "urgent": URGENCY.get(params.get("urgent", "")),
    }
    return {name: value for name, value in filters.items() if value is not None}


def queue_query(filters: dict) -> str:
    """The filters as a query string, to keep them from the queue to a prescription and back."""
    values = {name: ("1" if value else "0") if name == "urgent" else value for name, value in filters.items()}
    return urlencode(values)


def queue_url(filters: dict) -> str:
    query = queue_query(filters)
    return reverse("audit:queue") + (f"?{query}" if query else "")


@login_required
def queue(request):
    _pharmacist(request)
    filters = queue_filters(request.GET)
    page = Paginator(audit_queue_for(request.user, **filters), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    waiting = audit_queue_for(request.user)
    choices = {
        "institutions": Institution.objects.filter(pk__in=waiting.values("institution_id")).order_by("code"),
        "prescribers": User.objects.filter(pk__in=waiting.values("prescriber_id")).order_by("name", "username"),
        "findings": sorted(((code, title) for code, (_severity, title) in CODES.items()), key=lambda c: c[1]),
    }
    return render(
        request,
        "audit/queue.html",
        {"page": page, "prescriptions": page.object_list, "filters": filters, "query": queue_query(filters), **choices},
    )


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
    filters = queue_filters(request.GET)
    try:
        audit_claim(pharmacist=request.user, prescription=prescription)
    except AuditConflict as exc:
        messages.error(request, exc.message)
        return redirect(queue_url(filters))
    return redirect(detail_url(pk, filters))


def detail_url(pk: int, filters: dict) -> str:
    query = queue_query(filters)
    return reverse("audit:detail", args=[pk]) + (f"?{query}" if query else "")


def open_next(request, decided: Prescription, filters: dict):
    """After a decision: the next prescription of the same filtered queue, claimed for the
    pharmacist; the queue when nothing else waits or another pharmacist took it first."""
    following = audit_queue_next(request.user, after=decided, **filters)
    if following is not None:
        try:
            audit_claim(pharmacist=request.user, prescription=following)
        except AuditConflict:
            pass
        else:
            return redirect(detail_url(following.pk, filters))
    return redirect(queue_url(filters))


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
            return redirect(queue_url(queue_filters(request.GET)))
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"decision": exc.messages}
        else:
            label = _("approved") if decision == Decision.APPROVE else _("rejected")
            messages.success(
                request, _("%(number)s %(label)s.") % {"number": prescription.display_number, "label": label}
            )
            return open_next(request, prescription, queue_filters(request.GET))
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
            "back": queue_url(queue_filters(request.GET)),
        },
    )
