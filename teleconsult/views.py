"""The remote consult pages: the village doctor's requests and the expert's queue, the request
form (a phone or tablet at the clinic: photos straight from the camera), one consult with its
steps, and the normal prescription editor opened from a claimed consult. Views parse, call
teleconsult.services and render."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.exceptions import Conflict
from core.ids import parse_id
from patients.forms import add_service_errors
from patients.models import AttachmentKind, ConsultMode
from patients.permissions import patients_visible_to
from patients.selectors import patient_search
from prescriptions.views import editor_context

from . import services
from .forms import RequestForm
from .permissions import may_see_remote_consults, parties_of
from .selectors import experts_above, hospitals_above, may_request, remote_consult_for, remote_consults_for
from .workflow import HOLDER, REQUESTER, ROUTED_EXPERT, Status, Step, moves_from


def _require_any(request):
    if not may_see_remote_consults(request.user):
        raise PermissionDenied


@login_required
def consult_list(request):
    _require_any(request)
    consults = remote_consults_for(request.user)
    status = request.GET.get("status", "")
    if status in Status.values:
        consults = consults.filter(status=status)
    return render(
        request,
        "teleconsult/consult_list.html",
        {
            "page": Paginator(consults, 25).get_page(request.GET.get("page")),
            "statuses": Status.choices,
            "status": status,
            "can_request": may_request(request.user),
        },
    )


def _own(patients, user):
    """The clinic's own patients: a consult and its prescription belong to the patient's clinic."""
    return patients.filter(institution_id=user.institution_id)


@login_required
def consult_new(request):
    """Choose the patient (search the clinic's patients), then fill the request."""
    if not may_request(request.user):
        raise PermissionDenied
    patient = None
    if "patient" in request.GET:  # a patient the user cannot see is no patient at all
        patient_id = parse_id(request.GET["patient"])
        patient = (
            _own(patients_visible_to(request.user), request.user).filter(pk=patient_id).first() if patient_id else None
        )
        if patient is None:
            raise Http404
    if patient is None:
        query = request.GET.get("q", "").strip()[:40]
        return render(
            request,
            "teleconsult/choose_patient.html",
            {"query": query, "choices": _own(patient_search(request.user, query), request.user)[:10] if query else []},
        )
    form = RequestForm(
        request.POST or None,
        request.FILES or None,
        hospitals=hospitals_above(request.user),
        experts=experts_above(request.user),
        initial={"idempotency_key": uuid.uuid4().hex},
    )
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        photos = {name: values.pop(name) for name in ("tongue_photo", "face_photo")}
        values.pop("routed_expert")
        try:
            consult, _created = services.remote_consult_request(
                actor=request.user, patient_id=patient.pk, values=values, photos=photos, **form.route()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The remote consult was sent."))
            return redirect("teleconsult:detail", pk=consult.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "teleconsult/consult_form.html", {"form": form, "patient": patient}, status=status)


# action -> (service, the field of its text)
ACTIONS = {
    "claim": (services.remote_consult_claim, None),
    "release": (services.remote_consult_release, None),
    "ask": (services.remote_consult_ask, "question"),
    "advise": (services.remote_consult_advise, "advice"),
    "withdraw": (services.remote_consult_withdraw, "reason"),
}


def _act(request, consult) -> None:
    """Take the posted step; raises what the service raises."""
    action = request.POST.get("action", "")
    if action == "answer":
        photos = {name: request.FILES.get(name) for name in ("tongue_photo", "face_photo")}
        services.remote_consult_reply(
            actor=request.user, consult=consult, answer=request.POST.get("answer", ""), photos=photos
        )
    elif action == "photo":
        services.remote_consult_add_photo(
            actor=request.user, consult=consult, kind=request.POST.get("kind", ""), upload=request.FILES.get("image")
        )
    elif action in ACTIONS:
        service, field = ACTIONS[action]
        service(actor=request.user, consult=consult, **({field: request.POST.get(field, "")} if field else {}))
    else:
        raise ValidationError(_("Unknown action."))


@login_required
def consult_detail(request, pk):
    _require_any(request)
    consult = remote_consult_for(request.user, pk)
    if consult is None:
        raise Http404
    errors, status = {}, 200
    if request.method == "POST":
        try:
            _act(request, consult)
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"action": error.messages}
            status = 400
        except Conflict as conflict:
            errors, status = {"action": [conflict.message]}, 409
        else:
            messages.success(request, _("Saved."))
            return redirect("teleconsult:detail", pk=pk)
        consult = remote_consult_for(request.user, pk)
    return render(request, "teleconsult/consult_detail.html", _detail_context(request, consult, errors), status=status)


def _detail_context(request, consult, errors) -> dict:
    parties = parties_of(request.user, consult)
    steps = {step for party in parties for step in moves_from(consult.status, party)}
    return {
        "consult": consult,
        "photos": consult.photos.all(),
        "events": consult.events.all(),
        "steps": steps,
        "is_requester": REQUESTER in parties,
        "is_holder": HOLDER in parties,
        "is_routed": ROUTED_EXPERT in parties,
        "errors": errors,
        "posted": request.POST,
        "photo_kinds": AttachmentKind.choices,
    }


@login_required
def consult_prescribe(request, pk):
    """The normal editor, for the consult's patient, posting to the consult's prescription API;
    the village doctor's findings are filled in."""
    _require_any(request)
    consult = remote_consult_for(request.user, pk)
    if consult is None:
        raise Http404
    if HOLDER not in parties_of(request.user, consult) or Step.PRESCRIBED not in moves_from(consult.status, HOLDER):
        messages.error(request, _("Only the expert who claimed this open consult writes its prescription."))
        return redirect("teleconsult:detail", pk=pk)
    context = editor_context(
        request,
        consult.patient,
        consult={**services.consult_findings(consult), "mode": ConsultMode.REMOTE},
        submit_url=reverse("api:remote-consult-prescription", args=[pk]),
        heading=_("Prescribe for remote consult %(pk)s · %(clinic)s")
        % {"pk": consult.pk, "clinic": consult.institution.name},
    )
    return render(request, "prescriptions/editor.html", context)
