"""Rollups behind the dashboards: small tables of counts per day (or month), institution and
prescriber, so ten years of a county read as a few thousand rows instead of millions of
prescriptions and trace events. Written only by dashboards.rollups, which rebuilds the days whose
prescriptions moved since its last refresh; `Freshness` says when each family was last rebuilt,
and every dashboard shows it beside its figures.

Days are local days (TIME_ZONE) of the prescription version's submission, except the consumption
and quality rollups, which are keyed by the day the herbs were dispensed."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Freshness(models.Model):
    """When the rollups were last rebuilt, and up to when trace events were folded in."""

    name = models.CharField(_("rollup"), max_length=30, unique=True)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    # Trace events from this time on may not be folded in yet: the next refresh starts here.
    watermark = models.DateTimeField(_("folded in up to"), null=True, blank=True)
    # … and so may trace events after this one (those written with a time in the past: a
    # history import, a clock set back).
    last_event_id = models.BigIntegerField(_("last event folded in"), default=0)

    class Meta:
        verbose_name = _("rollup freshness")
        verbose_name_plural = _("rollup freshness")

    def __str__(self):
        return f"{self.name} {self.refreshed_at}"


class _PerPrescriber(models.Model):
    institution = models.ForeignKey("accounts.Institution", on_delete=models.CASCADE, related_name="+")
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class VolumeDay(_PerPrescriber):
    """The live version of each prescription (the last of its revisions), by the day it was
    submitted: how many, how they were made and handed over, how far they went."""

    day = models.DateField()
    prescriptions = models.PositiveIntegerField(default=0)
    self_decocted = models.PositiveIntegerField(default=0)  # the rest are decocted by the centre
    pickup = models.PositiveIntegerField(default=0)  # to be picked up; the rest delivered
    urgent = models.PositiveIntegerField(default=0)
    revised = models.PositiveIntegerField(default=0)  # the live version is a revision (v2 or later)
    approved = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)  # still rejected: never revised
    cancelled = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    picked_up = models.PositiveIntegerField(default=0)
    within_4h = models.PositiveIntegerField(default=0)  # submitted → delivered or picked up
    within_24h = models.PositiveIntegerField(default=0)
    herb_lines = models.PositiveIntegerField(default=0)
    doses = models.PositiveIntegerField(default=0)
    toxic = models.PositiveIntegerField(default=0)  # prescriptions with at least one toxic herb
    cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "institution"], name="volume_day")]

    def __str__(self):
        return f"{self.day} {self.pk}"


class DiagnosisMonth(_PerPrescriber):
    """Live prescription versions per month by TCM disease, syndrome and ICD-10 code."""

    month = models.DateField()  # the first of the month
    tcm_disease = models.CharField(max_length=100)
    tcm_syndrome = models.CharField(max_length=100)
    icd10 = models.CharField(max_length=10)
    prescriptions = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "institution"], name="diagnosis_month")]

    def __str__(self):
        return f"{self.month} {self.pk}"


class HerbMonth(_PerPrescriber):
    """Live prescription versions per month and herb, with the grams prescribed (per dose × doses)."""

    month = models.DateField()
    herb = models.ForeignKey("catalogue.Herb", on_delete=models.CASCADE, related_name="+")
    prescriptions = models.PositiveIntegerField(default=0)
    grams = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "institution"], name="herb_month")]

    def __str__(self):
        return f"{self.month} {self.pk}"


class FindingDay(_PerPrescriber):
    """Machine-audit findings of every prescription version (revised ones too), per code."""

    day = models.DateField()
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=10)
    prescriptions = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "institution"], name="finding_day")]

    def __str__(self):
        return f"{self.day} {self.pk}"


class DecisionDay(_PerPrescriber):
    """Pharmacists' decisions on every prescription version, by the version's submit day."""

    day = models.DateField()
    pharmacist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    versions = models.PositiveIntegerField(default=0)  # versions decided
    flagged = models.PositiveIntegerField(default=0)  # the machine audit found something
    high_risk = models.PositiveIntegerField(default=0)
    approved = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    overridden = models.PositiveIntegerField(default=0)  # approved although the audit found a high risk

    class Meta:
        indexes = [models.Index(fields=["day", "institution"], name="decision_day")]

    def __str__(self):
        return f"{self.day} {self.pk}"


class StageMonth(models.Model):
    """How long each step took: per month, institution and step, a histogram of minutes (a
    month, not a day: ten years of a county's durations stay a few hundred thousand rows). A
    bucket is the duration rounded down to 5 minutes below 2 h, to 15 minutes below 8 h, to the
    hour below 48 h and to 6 hours beyond (dashboards.rollups.steps.bucket).

    Rows without an institution are the whole county's: the county's administrator reads a
    year of them, not a year of every institution's (137,000 rows at a million prescriptions)."""

    month = models.DateField()
    institution = models.ForeignKey(
        "accounts.Institution", null=True, on_delete=models.CASCADE, related_name="+", help_text="None: the county"
    )
    step = models.CharField(max_length=20)
    urgent = models.BooleanField()
    minutes = models.PositiveIntegerField()  # the bucket's lower bound
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "institution"], name="stage_month")]

    def __str__(self):
        return f"{self.month} {self.pk}"


class QualityDay(models.Model):
    """Per dispenser and day of dispensing: versions dispensed and how many failed the re-check."""

    day = models.DateField()
    institution = models.ForeignKey("accounts.Institution", on_delete=models.CASCADE, related_name="+")
    dispenser = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dispensed = models.PositiveIntegerField(default=0)
    recheck_failed = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "institution"], name="quality_day")]

    def __str__(self):
        return f"{self.day} {self.pk}"


class ConsumptionDay(models.Model):
    """Grams of each herb a pharmacy dispensed per day (per dose × doses), for consumption and
    days of cover."""

    day = models.DateField()
    pharmacy = models.ForeignKey("accounts.Institution", on_delete=models.CASCADE, related_name="+")
    herb = models.ForeignKey("catalogue.Herb", on_delete=models.CASCADE, related_name="+")
    grams = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "herb"], name="consumption_day")]

    def __str__(self):
        return f"{self.day} {self.pk}"
