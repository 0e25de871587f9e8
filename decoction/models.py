"""Dispensing, photo re-check, soaking, decoction and packaging records. The stage itself lives in
prescriptions (status and trace events); these rows hold what each station measured."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StationSettings(models.Model):
    """The limits the stations check, editable by administrators (one row). Defaults follow
    《医疗机构中药煎药室管理规范》 and common SOPs (see README)."""

    weight_tolerance_pct = models.DecimalField(
        _("weight tolerance (± percent)"), max_digits=4, decimal_places=1, default=Decimal("5.0")
    )
    soak_min_minutes = models.PositiveSmallIntegerField(_("minimum soaking (minutes)"), default=30)
    decoct_general = models.CharField(_("decoction window, general (min-max minutes)"), max_length=9, default="20-60")
    decoct_exterior = models.CharField(
        _("decoction window, exterior-releasing (min-max minutes)"), max_length=9, default="15-40"
    )
    decoct_tonic = models.CharField(_("decoction window, tonic (min-max minutes)"), max_length=9, default="40-120")
    adult_ml = models.CharField(_("ml per bag, adult (min-max)"), max_length=9, default="200-300")
    child_ml = models.CharField(_("ml per bag, child (min-max)"), max_length=9, default="50-150")
    urgent_target_minutes = models.PositiveSmallIntegerField(_("urgent: approval to packaged (minutes)"), default=120)
    inspection_share_pct = models.DecimalField(
        _("daily random inspection (percent of decoctions)"), max_digits=4, decimal_places=1, default=Decimal("5.0")
    )

    class Meta:
        verbose_name = _("station settings")
        verbose_name_plural = _("station settings")

    def __str__(self):
        return str(_("station settings"))

    @classmethod
    def current(cls) -> "StationSettings":
        return cls.objects.order_by("pk").first() or cls.objects.create()

    @staticmethod
    def window(value: str) -> tuple[int, int]:
        low, _, high = value.partition("-")
        return int(low), int(high)


class DispensingRecord(models.Model):
    """What the dispenser weighed, per herb, and which stock batches it came from."""

    prescription = models.ForeignKey(
        "prescriptions.Prescription",
        verbose_name=_("prescription"),
        on_delete=models.PROTECT,
        related_name="dispensing_records",
    )
    dispenser = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("dispenser"), on_delete=models.PROTECT, related_name="+"
    )
    pharmacy = models.ForeignKey(
        "accounts.Institution", verbose_name=_("pharmacy"), on_delete=models.PROTECT, related_name="+"
    )
    weights = models.JSONField(_("weights"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispensing record")
        verbose_name_plural = _("dispensing records")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.prescription} {self.created_at:%Y-%m-%d %H:%M}"


class StationPhoto(models.Model):
    """A photo taken at a station (the dispensed herbs for the re-check), normalised, with a
    thumbnail made in the background and a quality flag shown to the uploader."""

    prescription = models.ForeignKey(
        "prescriptions.Prescription",
        verbose_name=_("prescription"),
        on_delete=models.PROTECT,
        related_name="station_photos",
    )
    stage = models.CharField(_("stage"), max_length=20)
    image = models.FileField(_("photo"), upload_to="stations/%Y/%m/")
    thumbnail = models.FileField(_("thumbnail"), upload_to="stations/thumbs/%Y/%m/", blank=True)
    quality = models.JSONField(_("quality"), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("station photo")
        verbose_name_plural = _("station photos")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.prescription} {self.stage}"


class InspectionResult(models.TextChoices):
    PENDING = "", _("Waiting for inspection")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class Inspection(models.Model):
    """The daily random quality inspection (动态抽检) of a decoction."""

    prescription = models.OneToOneField(
        "prescriptions.Prescription",
        verbose_name=_("prescription"),
        on_delete=models.PROTECT,
        related_name="inspection",
    )
    picked_on = models.DateField(_("picked on"))
    result = models.CharField(_("result"), max_length=10, choices=InspectionResult.choices, blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-picked_on", "pk"]

    def __str__(self):
        return f"{self.prescription} {self.picked_on}"
