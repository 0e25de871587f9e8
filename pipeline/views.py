"""The pages that show one prescription across its whole journey: the prescription (its app)
with its audit (the audit app), composed here, on the floor above both; and the patient portrait,
which does the same for all of one patient's prescriptions (pipeline.portrait)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.permissions import ensure_capability, has_capability
from audit.selectors import audit_outcome
from core.exceptions import Conflict
from patients.models import AttachmentKind, Patient
from prescriptions.models import Prescription
from prescriptions.selectors import prescription_detail, prescription_versions
from prescriptions.services import consult_attach_photo, prescription_cancel
from prescriptions.views import FINDING_TITLES
from prescriptions.workflow import Stage, next_stages

from .portrait import patient_portrait
from .portrait_charts import portrait_charts


@login_required
def prescription_page(request, pk):
    ensure_capability(request.user, "view_patients")
    try:
        prescription = prescription_detail(request.user, pk)
    except Prescription.DoesNotExist:
        raise Http404 from None
    if request.method == "POST" and request.POST.get("action") == "photo":
        try:
            consult_attach_photo(
                actor=request.user,
                prescription=prescription,
                kind=request.POST.get("kind", ""),
                upload=request.FILES.get("image"),
            )
            messages.success(request, _("Photo added."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("prescriptions:detail", pk=pk)
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            prescription_cancel(actor=request.user, prescription=prescription, reason=request.POST.get("reason", ""))
            messages.success(request, _("Prescription cancelled."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except Conflict as error:
            messages.error(request, error.message)
        return redirect("prescriptions:detail", pk=pk)
    can_prescribe = has_capability(request.user, "prescribe")
    run, decision = audit_outcome(prescription)
    return render(
        request,
        "prescriptions/prescription_detail.html",
        {
            "prescription": prescription,
            "run": run,
            "decision": decision,
            "events": prescription.events.all(),
            "can_cancel": can_prescribe
            and Stage.CANCELLED
            in next_stages(prescription.status, decoction=prescription.decoction, delivery=prescription.delivery),
            "can_revise": can_prescribe
            and prescription.status == Stage.REJECTED
            and not hasattr(prescription, "revision"),
            "versions": prescription_versions(prescription),
            "attachments": prescription.consult.attachments.all(),
            "attachment_kinds": AttachmentKind.choices,
            "can_attach": can_prescribe,
            "finding_titles": FINDING_TITLES,
        },
    )


@login_required
def patient_portrait_page(request, pk):
    """A patient's portrait: 403 without `view_patients`, 404 for a patient outside the reader's
    subtree (as for one that does not exist)."""
    ensure_capability(request.user, "view_patients")
    try:
        portrait = patient_portrait(request.user, pk)
    except Patient.DoesNotExist:
        raise Http404 from None
    return render(request, "patients/portrait.html", {"portrait": portrait, "charts": portrait_charts(portrait)})
