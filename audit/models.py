from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditRun(models.Model):
    """The machine audit of one prescription version (at most one: the task is idempotent)."""

    prescription = models.OneToOneField(
        "prescriptions.Prescription", verbose_name=_("prescription"), on_delete=models.PROTECT, related_name="audit_run"
    )
    rule_version = models.PositiveIntegerField(_("rule version"))
    engine_version = models.CharField(_("engine version"), max_length=20)
    duration_ms = models.FloatField(_("duration (ms)"))
    findings = models.JSONField(_("findings"), default=list)
    risk_level = models.CharField(_("risk"), max_length=10)
    routed_to = models.ForeignKey(
        "accounts.Institution", verbose_name=_("audited by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit run")
        verbose_name_plural = _("audit runs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prescription} v{self.rule_version} {self.risk_level}"


class AuditClaim(models.Model):
    """A pharmacist working on a prescription: others see it taken until the claim expires."""

    prescription = models.OneToOneField("prescriptions.Prescription", on_delete=models.CASCADE, related_name="claim")
    pharmacist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.prescription_id} → {self.pharmacist_id} until {self.expires_at:%H:%M}"


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class AuditDecision(models.Model):
    """The pharmacist's final audit of one prescription version."""

    prescription = models.OneToOneField(
        "prescriptions.Prescription", verbose_name=_("prescription"), on_delete=models.PROTECT, related_name="decision"
    )
    pharmacist = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("pharmacist"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    overrides = models.JSONField(_("reasons per finding"), default=dict, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit decision")
        verbose_name_plural = _("audit decisions")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prescription} {self.get_decision_display()}"


class Verdict(models.TextChoices):
    """The outcome of a post-hoc review (事后点评), in the categories of 《医院处方点评管理规范（试行）》
    (2010) 第二十七条: a prescription is appropriate or one of the three kinds of irrational."""

    APPROPRIATE = "appropriate", _("Appropriate")
    NONSTANDARD = "nonstandard", _("Non-standard prescription")
    INAPPROPRIATE = "inappropriate", _("Inappropriate medication")
    EXCESSIVE = "excessive", _("Excessive prescription")


class ReviewRound(models.Model):
    """One month's draw of approved prescriptions for post-hoc review: at most one per month, so
    drawing a month again draws nothing new (audit.review.services.review_draw)."""

    month = models.DateField(_("month"), unique=True)  # the first of the month
    seed = models.BigIntegerField(_("seed"))
    per_clinician = models.PositiveSmallIntegerField(_("drawn per clinician"))
    approved = models.PositiveIntegerField(_("approved in the month"))
    drawn_at = models.DateTimeField(_("drawn at"), auto_now_add=True)

    class Meta:
        verbose_name = _("review round")
        verbose_name_plural = _("review rounds")
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m}"


class ReviewSample(models.Model):
    """A prescription version drawn for review, with whom it belongs to and who reviews it (the
    institution its audit was routed to). A prescription is drawn at most once."""

    round = models.ForeignKey(ReviewRound, verbose_name=_("round"), on_delete=models.PROTECT, related_name="samples")
    prescription = models.OneToOneField(
        "prescriptions.Prescription", verbose_name=_("prescription"), on_delete=models.PROTECT, related_name="+"
    )
    institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("institution"), on_delete=models.PROTECT, related_name="+"
    )
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prescriber"), on_delete=models.PROTECT, related_name="+"
    )
    routed_to = models.ForeignKey(
        "accounts.Institution", verbose_name=_("reviewed by"), on_delete=models.PROTECT, related_name="+"
    )
    # Drawn to bring the reviewing institution's month up to the rule's minimum, not per clinician.
    topped_up = models.BooleanField(_("topped up"), default=False)

    class Meta:
        verbose_name = _("review sample")
        verbose_name_plural = _("review samples")
        indexes = [models.Index(fields=["round", "routed_to"], name="review_sample_routed")]

    def __str__(self):
        return f"{self.round} {self.prescription_id}"


class ReviewScore(models.Model):
    """A pharmacist's review of one sampled prescription: a verdict and, unless appropriate, the
    checklist items (audit.review.checklist) of the verdict's category. One per sample."""

    sample = models.OneToOneField(
        ReviewSample, verbose_name=_("sample"), on_delete=models.PROTECT, related_name="score"
    )
    pharmacist = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("pharmacist"), on_delete=models.PROTECT, related_name="+"
    )
    verdict = models.CharField(_("verdict"), max_length=20, choices=Verdict.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)  # checklist item codes
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("review score")
        verbose_name_plural = _("review scores")

    def __str__(self):
        return f"{self.sample} {self.verdict}"
