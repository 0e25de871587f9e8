"""A patient's constitution assessments (ZYYXH/T 157-2009) and the single-use invitations that
let a patient answer on their own phone."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class Mode(models.TextChoices):
    SELF = "self", _("Self-service")
    ASSISTED = "assisted", _("Clinician-assisted")


class ConstitutionAssessment(models.Model):
    """One questionnaire as answered: the answers, every type's score and judgement (`scores`),
    the overall result (`result`: primary codes, tendencies, summary), the sex whose items were
    asked, and the questionnaire's version. Written only by services.assessment_record."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="constitution_assessments", verbose_name=_("patient")
    )
    answers = models.JSONField(_("answers"))
    scores = models.JSONField(_("scores"))
    result = models.JSONField(_("result"))
    summary = models.CharField(_("summary"), max_length=200)
    sex = models.CharField(_("sex"), max_length=1)
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    questionnaire_version = models.CharField(_("questionnaire version"), max_length=40)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["patient", "-taken_at"], name="constitution_patient_taken")]
        verbose_name = _("constitution assessment")
        verbose_name_plural = _("constitution assessments")

    def __str__(self):
        return f"{self.patient_id} {self.taken_at:%Y-%m-%d} {self.summary}"


class ConstitutionInvite(models.Model):
    """A link a clinician gives a patient (as a QR code): valid for INVITE_HOURS, used once."""

    token = models.CharField(_("token"), max_length=64, unique=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="constitution_invites", verbose_name=_("patient")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("constitution invitation")
        verbose_name_plural = _("constitution invitations")

    def __str__(self):
        return f"{self.patient_id} {self.expires_at:%Y-%m-%d %H:%M}"
