from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleVersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")
    RETIRED = "retired", _("Retired")


class RuleVersion(models.Model):
    """A frozen copy of every audit rule (the catalogue's doses, groups and lists, the age bands and
    the custom rules) as plain JSON. Exactly one version is live; drafts can be replayed first."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=RuleVersionStatus.choices, default="draft")
    data = models.JSONField(_("rules"))
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="live"), name="one_live_rule_version")
        ]

    def __str__(self):
        return f"v{self.number} ({self.get_status_display()})"


class AgeBand(models.Model):
    """Children's doses as a share of the adult maximum, by age (《中药学》: 新生儿1/6, 乳婴儿1/3,
    幼儿1/2, 学龄儿童2/3)."""

    below_years = models.DecimalField(_("below age (years)"), max_digits=6, decimal_places=4, unique=True)
    factor = models.DecimalField(_("share of the adult maximum"), max_digits=4, decimal_places=3)
    label = models.CharField(_("label"), max_length=20)

    class Meta:
        verbose_name = _("age band")
        verbose_name_plural = _("age bands")
        ordering = ["below_years"]

    def __str__(self):
        return f"{self.label} < {self.below_years}"


class CustomPairRule(models.Model):
    """A pair an institution wants flagged beyond 十八反/十九畏 (e.g. 人参 with 莱菔子)."""

    herb_a = models.ForeignKey("catalogue.Herb", verbose_name=_("herb A"), on_delete=models.CASCADE, related_name="+")
    herb_b = models.ForeignKey("catalogue.Herb", verbose_name=_("herb B"), on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(
        _("severity"),
        max_length=10,
        choices=[("block", _("Block")), ("warn", _("Warn")), ("info", _("Info"))],
        default="warn",
    )
    message = models.CharField(_("message"), max_length=200)
    source = models.CharField(_("source"), max_length=200)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom pair rule")
        verbose_name_plural = _("custom pair rules")

    def __str__(self):
        return f"{self.herb_a} + {self.herb_b}"


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
