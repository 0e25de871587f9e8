"""The versioned rule sets. The tables kept their names from when these models lived in the
audit app (`audit_*`): the move changed only Django's state, not the database."""

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
        db_table = "audit_ruleversion"
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
        db_table = "audit_ageband"
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
        db_table = "audit_custompairrule"
        verbose_name = _("custom pair rule")
        verbose_name_plural = _("custom pair rules")

    def __str__(self):
        return f"{self.herb_a} + {self.herb_b}"
