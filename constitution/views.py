"""The constitution pages: the patient's phone page opened from an invitation's QR code (no
sign-in: consent first, then the questionnaire, then the result with advice), and the clinician's
pages (a patient's history with the invitation's QR code, and the questionnaire filled in with the
patient). Views parse, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import ensure_capability
from core.qr import qr_svg_inline
from patients.permissions import patients_visible_to

from . import questionnaire
from .models import Mode
from .permissions import can_record_for, ensure_can_record_for
from .selectors import USED, VALID, assessments_of, invite_lookup
from .services import assessment_record, invite_create, invite_requests_exceeded, invite_url


def _public(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"  # answers about one's health: not kept on a shared phone
    # Not no-referrer: a form posted under it sends "Origin: null", which the CSRF check refuses.
    # same-origin still keeps the link's token from any other site (the page links to none).
    response["Referrer-Policy"] = "same-origin"
    return response


def _masked(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def form_context(sex: str, answers: dict, error: ValidationError | None = None) -> dict:
    """The questionnaire's sections with each item's chosen value and its error, if any."""
    errors = {key.removeprefix("answers."): text for key, text in (error.message_dict if error else {}).items()}
    sections = [
        {
            **section,
            "items": [
                {**item, "chosen": str(answers.get(item["id"], "")), "error": " ".join(errors.get(item["id"], []))}
                for item in section["items"]
            ],
        }
        for section in questionnaire.sections_for(sex)
    ]
    return {
        "sections": sections,
        "options": questionnaire.options(),
        "instruction": questionnaire.data()["instruction"],
        "error_count": len(errors),
    }


def result_context(assessment) -> dict:
    return {
        "assessment": assessment,
        "advice": questionnaire.advice_for(assessment.result),
        "advice_source": questionnaire.advice_source(),
    }


def _answers_from(post) -> dict:
    known = {item["id"] for item in questionnaire.data()["items"]}
    return {key: post[key] for key in post if key in known}


@require_http_methods(["GET", "POST"])
def invite_page(request, token):
    """The patient's page for an invitation: consent, then the questionnaire for their sex, then
    the result. An unknown token is a 404; an expired or used one a clear page (410)."""
    if invite_requests_exceeded(request):
        response = HttpResponse(_("Too many requests; try again in a minute."), status=429)
        response["Retry-After"] = "60"
        return response
    invite, state = invite_lookup(token)
    if invite is None:
        return _public(render(request, "constitution/invite_gone.html", {"state": ""}, status=404))
    if state != VALID:
        return _public(render(request, "constitution/invite_gone.html", {"state": state}, status=410))
    patient = invite.patient
    context = {"who": _masked(patient.name), "token": token}
    if request.method == "GET" or request.POST.get("agree") != "yes":
        refused = request.method == "POST"
        page = {**context, "refused": refused, "consent": questionnaire.consent()}
        return _public(render(request, "constitution/invite_consent.html", page))
    if request.POST.get("step") != "answers":
        return _public(render(request, "constitution/invite_form.html", {**context, **form_context(patient.sex, {})}))
    answers = _answers_from(request.POST)
    try:
        assessment = assessment_record(patient=patient, answers=answers, mode=Mode.SELF, invite=invite)
    except ValidationError as error:
        if not any(key.startswith("answers") for key in getattr(error, "error_dict", {})):
            return _public(render(request, "constitution/invite_gone.html", {"state": USED}, status=410))
        page = {**context, **form_context(patient.sex, answers, error)}
        return _public(render(request, "constitution/invite_form.html", page, status=400))
    return _public(render(request, "constitution/invite_result.html", {**context, **result_context(assessment)}))


def _visible_patient(request, pk):
    ensure_capability(request.user, "view_patients")
    return get_object_or_404(patients_visible_to(request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def patient_constitution(request, pk):
    """A patient's assessments, newest first, with the latest's advice; POST (action invite)
    makes an invitation and shows its QR code for the patient to scan."""
    patient = _visible_patient(request, pk)
    invite = None
    if request.method == "POST":
        invite = invite_create(actor=request.user, patient=patient)
    assessments = list(assessments_of(request.user, patient))
    context = {
        "patient": patient,
        "assessments": assessments,
        "can_record": can_record_for(request.user, patient),
        **(result_context(assessments[0]) if assessments else {}),
    }
    if invite is not None:
        url = invite_url(invite.token)
        context.update(invite=invite, invite_url=url, invite_qr=qr_svg_inline(url))
    return render(request, "constitution/patient_constitution.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def assisted_page(request, pk):
    """The questionnaire filled in by the clinician with the patient; stored with mode assisted.
    Refused (403) without `manage_patients` before the patient is looked up, as the patient form."""
    ensure_capability(request.user, "manage_patients")
    patient = _visible_patient(request, pk)
    ensure_can_record_for(request.user, patient)
    if patient.sex not in questionnaire.SEXES:
        messages.error(request, _("The patient's sex is needed to choose the questions."))
        return redirect("patients:constitution", pk=pk)
    answers, error = {}, None
    if request.method == "POST":
        answers = _answers_from(request.POST)
        try:
            assessment_record(patient=patient, answers=answers, mode=Mode.ASSISTED, actor=request.user)
        except ValidationError as caught:
            error = caught
        else:
            messages.success(request, _("Constitution assessment saved."))
            return redirect("patients:constitution", pk=pk)
    context = {"patient": patient, **form_context(patient.sex, answers, error)}
    return render(request, "constitution/assisted.html", context, status=400 if error else 200)
