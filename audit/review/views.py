"""The pharmacist's review pages: the month's sample routed to their institution, and one sampled
prescription, read-only, with the score form."""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import ensure_capability

from ..models import ReviewSample, Verdict
from .checklist import ARTICLES, ITEMS, SOURCE, item_text
from .selectors import review_months_for, review_samples_for, review_visible_sample
from .services import review_score


def _month(value: str, months: list):
    """The month asked for ("2026-03") if the pharmacist has samples in it, else the latest."""
    try:
        asked = datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        asked = None
    return asked if asked in months else (months[0] if months else None)


@login_required
def review_list(request):
    ensure_capability(request.user, "review_prescriptions")
    months = review_months_for(request.user)
    month = _month(request.GET.get("month", ""), months)
    samples = list(review_samples_for(request.user, month=month)) if month else []
    scored = sum(hasattr(s, "score") for s in samples)
    return render(
        request,
        "audit/review_list.html",
        {"months": months, "month": month, "samples": samples, "scored": scored},
    )


def _next_to_score(user, sample):
    return review_samples_for(user, month=sample.round.month).filter(score__isnull=True).first()


def checklist_groups() -> list[dict]:
    """The checklist for the score form: per category of irrational prescription, its article and items."""
    return [
        {"verdict": verdict, "label": Verdict(verdict).label, "article": f"{SOURCE}{ARTICLES[verdict]}", "items": items}
        for verdict, items in ITEMS.items()
    ]


@login_required
def review_detail(request, pk):
    ensure_capability(request.user, "review_prescriptions")
    try:
        sample = review_visible_sample(request.user, pk)
    except ReviewSample.DoesNotExist:
        raise Http404 from None
    posted = {"verdict": "", "reasons": [], "comment": ""}
    errors, status = {}, 200
    if request.method == "POST":
        posted = {
            "verdict": request.POST.get("verdict", ""),
            "reasons": request.POST.getlist("reasons"),
            "comment": request.POST.get("comment", ""),
        }
        try:
            review_score(pharmacist=request.user, sample=sample, **posted)
        except ValidationError as exc:
            errors, status = exc.message_dict, 400
        else:
            messages.success(request, _("%(number)s reviewed.") % {"number": sample.prescription.display_number})
            following = _next_to_score(request.user, sample)
            if following is not None:
                return redirect("audit:review-detail", following.pk)
            return redirect(reverse("audit:review") + f"?month={sample.round.month:%Y-%m}")
    prescription = sample.prescription
    score = getattr(sample, "score", None)
    return render(
        request,
        "audit/review_detail.html",
        {
            "sample": sample,
            "prescription": prescription,
            "run": getattr(prescription, "audit_run", None),
            "decision": getattr(prescription, "decision", None),
            "score": score,
            "score_reasons": [(code, item_text(code)) for code in score.reasons] if score else [],
            "verdicts": Verdict.choices,
            "checklist": checklist_groups(),
            "posted": posted,
            "errors": errors,
        },
        status=status,
    )
