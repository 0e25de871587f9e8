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
