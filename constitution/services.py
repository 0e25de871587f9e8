"""All writes of constitution assessments and invitations."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.addresses import client_address
from core.cache import count_and_get
from patients.models import Patient

from . import questionnaire, scoring
from .models import ConstitutionAssessment, ConstitutionInvite, Mode
from .permissions import ensure_can_record_for

INVITE_HOURS = 24


def answers_error(error: scoring.IncompleteAnswers) -> ValidationError:
    """IncompleteAnswers as a ValidationError with a field path per item (`answers.B3`)."""
    errors = {f"answers.{item}": [_("Answer this question.")] for item in error.missing}
    errors.update({f"answers.{item}": [_("Choose one of the five answers (1 to 5).")] for item in error.invalid})
    return ValidationError(errors)


def _assess(patient: Patient, answers) -> dict:
    if not isinstance(answers, dict):
        raise ValidationError({"answers": [_("Send the answers as an object of item id to 1..5.")]})
    if patient.sex not in questionnaire.SEXES:
        raise ValidationError({"patient": [_("The patient's sex is needed to choose the questions.")]})
    try:
        return scoring.assess(answers, patient.sex)
    except scoring.IncompleteAnswers as error:
        raise answers_error(error) from None


@transaction.atomic
def assessment_record(
    *, patient: Patient, answers: dict, mode: str, actor=None, invite: ConstitutionInvite | None = None
) -> ConstitutionAssessment:
    """Score and store one questionnaire for `patient`. Assisted: the actor must hold
    `manage_patients` and see the patient (PermissionDenied). Self-service: `invite` must be this
    patient's, unused and unexpired; it is claimed by a conditional UPDATE, so a link answers once
    (ValidationError otherwise). Every answer is checked before anything is written: an incomplete
    set raises ValidationError with `answers.<item>` paths and writes nothing."""
    if mode == Mode.ASSISTED:
        ensure_can_record_for(actor, patient)
    elif mode == Mode.SELF:
        if invite is None or invite.patient_id != patient.pk:
            raise PermissionDenied(_("This link is not for this patient."))
    else:
        raise ValidationError({"mode": [_("Choose self-service or clinician-assisted.")]})
    outcome = _assess(patient, answers)
    now = timezone.now()
    if mode == Mode.SELF:
        claimed = ConstitutionInvite.objects.filter(pk=invite.pk, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        if not claimed:
            raise ValidationError(_("This link has expired or has already been used."))
    wanted = set(questionnaire.item_ids_for(patient.sex))
    return ConstitutionAssessment.objects.create(
        patient=patient,
        answers={item: int(str(value).strip()) for item, value in answers.items() if item in wanted},
        scores=outcome["scores"],
        result=outcome["result"],
        summary=outcome["result"]["summary"][:200],
        sex=patient.sex,
        taken_at=now,
        mode=mode,
        recorded_by=actor if mode == Mode.ASSISTED else None,
        questionnaire_version=questionnaire.version(),
    )


def invite_create(*, actor, patient: Patient) -> ConstitutionInvite:
    """A single-use link for the patient to answer on their phone, valid INVITE_HOURS; the actor
    must hold `manage_patients` and see the patient (PermissionDenied)."""
    ensure_can_record_for(actor, patient)
    now = timezone.now()
    return ConstitutionInvite.objects.create(
        token=secrets.token_urlsafe(24),
        patient=patient,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=INVITE_HOURS),
    )


def invite_url(token: str) -> str:
    """The patient's questionnaire page for `token` as an absolute address (for the QR code)."""
    return f"{settings.SITE_URL}{reverse('constitution:invite', args=[token])}"


def invite_requests_exceeded(request) -> bool:
    """More than TRACK_RATE_PER_MINUTE requests from this address this minute to the invitation
    page or its API (the tracking page's limit: both are opened by scanning a code in the clinic)."""
    minute = int(timezone.now().timestamp()) // 60
    hits, _value = count_and_get(f"rl:constitution:{client_address(request)}:{minute}", 65)
    return hits > settings.TRACK_RATE_PER_MINUTE
