from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalogue.models import SpecialDecoction
from core.models import AppendOnly
from patients.models import Consult, Patient

from .workflow import Decoction, DeliveryMode, Stage


def tracking_url(token: str) -> str:
    """The patient's tracking page for `token` as an absolute address: printed as a QR code on
    receipts and bags, returned to hospital systems."""
    return f"{settings.SITE_URL}{reverse('tracking:track', args=[token])}"


class PrescriptionSequence(models.Model):
    """The last number given per institution and day (prescription numbers never repeat)."""

    institution = models.ForeignKey("accounts.Institution", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "day"], name="prescription_sequence_unique")]

    def __str__(self):
        return f"{self.institution_id} {self.day} {self.last}"


class RiskLevel(models.TextChoices):
    UNKNOWN = "", _("Not audited yet")
    NONE = "none", _("No findings")
    LOW = "low", _("Low")
    HIGH = "high", _("High")


class Prescription(models.Model):
    """An herbal prescription (one version of it). Its status changes only through
    prescriptions.services.prescription_transition, which writes the trace event."""

    number = models.CharField(_("prescription number"), max_length=30, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.OneToOneField(
        "self",
        verbose_name=_("previous version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="revision",
    )
    status = models.CharField(_("status"), max_length=20, choices=Stage.choices, default=Stage.SUBMITTED, db_index=True)
    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="prescriptions"
    )
    consult = models.ForeignKey(
        Consult, verbose_name=_("consult"), on_delete=models.PROTECT, related_name="prescriptions"
    )
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prescriber"), on_delete=models.PROTECT, related_name="prescriptions"
    )
    institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("institution"), on_delete=models.PROTECT, related_name="prescriptions"
    )
    doses = models.PositiveSmallIntegerField(_("doses"))
    usage = models.CharField(_("usage"), max_length=200)
    decoction = models.CharField(_("decoction"), max_length=10, choices=Decoction.choices, default=Decoction.CENTER)
    delivery = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.ADDRESS
    )
    delivery_address = models.CharField(_("delivery address"), max_length=200, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    urgent = models.BooleanField(_("urgent decoction"), default=False)
    formula_source = models.CharField(_("started from"), max_length=100, blank=True)
    double_signature = models.JSONField(_("double signature"), default=dict, blank=True)
    risk_level = models.CharField(_("risk"), max_length=10, choices=RiskLevel.choices, blank=True, default="")
    # The rule check made at submit (what the clinician signed for); the audit run keeps it instead
    # of checking again. A null version: submitted before the submit stored its check.
    precheck_findings = models.JSONField(_("findings at submit"), default=list, blank=True)
    precheck_rule_version = models.PositiveIntegerField(_("rule version at submit"), null=True, blank=True)
    precheck_duration_ms = models.FloatField(_("check duration at submit (ms)"), default=0)
    herb_total = models.DecimalField(_("herbs (yuan)"), max_digits=10, decimal_places=2, default=0)
    decoction_fee = models.DecimalField(_("decoction fee (yuan)"), max_digits=8, decimal_places=2, default=0)
    delivery_fee = models.DecimalField(_("delivery fee (yuan)"), max_digits=8, decimal_places=2, default=0)
    total = models.DecimalField(_("total (yuan)"), max_digits=10, decimal_places=2, default=0)
    tracking_token = models.CharField(_("tracking token"), max_length=64, unique=True, null=True, blank=True)
    # The head of the trace chain, kept with the prescription and keyed (core.keys), so a chain
    # cut short or a status changed without its event is detected (prescriptions.services.integrity).
    trace_count = models.PositiveIntegerField(default=0, editable=False)
    trace_head = models.CharField(max_length=64, blank=True, editable=False)
    trace_head_mac = models.CharField(max_length=80, blank=True, editable=False)
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["number", "version"], name="prescription_number_version_unique"),
            models.UniqueConstraint(
                fields=["prescriber", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="prescription_idempotency_unique",
            ),
            models.CheckConstraint(condition=Q(doses__gte=1) & Q(doses__lte=60), name="prescription_doses_range"),
        ]

    def __str__(self):
        return self.display_number

    @property
    def tracking_url(self) -> str | None:
        return tracking_url(self.tracking_token) if self.tracking_token else None

    @property
    def display_number(self) -> str:
        return self.number_shown(self.number, self.version)

    @staticmethod
    def number_shown(number: str, version: int) -> str:
        """The number as people see it: the version after the first is appended (-v2)."""
        return number if version == 1 else f"{number}-v{version}"


class PrescriptionItem(models.Model):
    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("position"))
    herb = models.ForeignKey("catalogue.Herb", verbose_name=_("herb"), on_delete=models.PROTECT, related_name="+")
    written_name = models.CharField(_("name as written"), max_length=20)
    grams = models.DecimalField(_("grams per dose"), max_digits=7, decimal_places=2)
    instruction = models.CharField(_("instruction"), max_length=20, blank=True, choices=SpecialDecoction.choices)
    unit_price = models.DecimalField(_("price per gram (yuan)"), max_digits=8, decimal_places=4, default=0)

    class Meta:
        verbose_name = _("prescription item")
        verbose_name_plural = _("prescription items")
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["prescription", "position"], name="item_position_unique")]

    def __str__(self):
        return f"{self.written_name} {self.grams}g"


class TraceEvent(AppendOnly):
    """One stage a prescription entered: who, when, with what. Append-only (the ORM refuses
    updates and deletes; on PostgreSQL a trigger refuses them in SQL too); each event carries the
    hash of the previous event of the same prescription and a hash of its own content keyed with
    the secret named by `key_id` (held outside the database), and its position `seq` (1, 2, …)."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="events")
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("by (name)"), max_length=50)
    at = models.DateTimeField(_("at"), db_index=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    seq = models.PositiveIntegerField(_("position in the chain"), default=0)
    key_id = models.CharField(_("key id"), max_length=8, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("trace event")
        verbose_name_plural = _("trace events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["prescription", "at"])]

    def __str__(self):
        return f"{self.prescription} {self.stage} {self.at:%Y-%m-%d %H:%M}"


class TraceRekey(models.Model):
    """A re-keying of the trace: when chains hashed before keyed hashes existed (or under a key
    being retired) were hashed again under `key_id`. The record of it, since it is the one time
    event hashes are rewritten."""

    at = models.DateTimeField(_("at"), auto_now_add=True)
    key_id = models.CharField(_("key id"), max_length=8)
    chains = models.PositiveIntegerField(_("chains"))
    events = models.PositiveIntegerField(_("events"))
    note = models.CharField(_("note"), max_length=200)

    class Meta:
        verbose_name = _("trace re-keying")
        verbose_name_plural = _("trace re-keyings")
        ordering = ["at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.key_id}"


class StuckFlag(models.Model):
    """A prescription that has stayed at one stage past that stage's time limit; shown to
    administrators until it moves on."""

    prescription = models.ForeignKey(
        Prescription, verbose_name=_("prescription"), on_delete=models.CASCADE, related_name="stuck_flags"
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    since = models.DateTimeField(_("at this stage since"))
    limit_minutes = models.PositiveIntegerField(_("limit (minutes)"))
    flagged_at = models.DateTimeField(_("flagged at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("moved on at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stuck prescription")
        verbose_name_plural = _("stuck prescriptions")
        ordering = ["resolved_at", "since"]
        constraints = [models.UniqueConstraint(fields=["prescription", "stage", "since"], name="stuck_flag_once")]

    def __str__(self):
        return f"{self.prescription} {self.stage}"


class Milestone(models.Model):
    """One reporting row per prescription: when it reached each stage and who moved it there,
    with the institution, prescriber and the facts dashboards filter by. Written by the one status
    writer in the transaction of each move (a stage reached twice keeps its latest time), so a
    county's date-range and institution queries read one indexed table instead of the trace."""

    prescription = models.OneToOneField(
        Prescription, primary_key=True, on_delete=models.CASCADE, related_name="milestone"
    )
    institution = models.ForeignKey("accounts.Institution", on_delete=models.PROTECT, related_name="+")
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Stage.choices)
    urgent = models.BooleanField(default=False)
    decoction = models.CharField(max_length=10, choices=Decoction.choices)
    delivery = models.CharField(max_length=10, choices=DeliveryMode.choices)
    # The stage codes, each with its time; each stage a person makes, with who made it.
    submitted_at = models.DateTimeField(null=True, blank=True)
    ai_audited_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    dispensed_at = models.DateTimeField(null=True, blank=True)
    recheck_failed_at = models.DateTimeField(null=True, blank=True)
    rechecked_at = models.DateTimeField(null=True, blank=True)
    soaking_at = models.DateTimeField(null=True, blank=True)
    decocting_at = models.DateTimeField(null=True, blank=True)
    packaged_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispensed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recheck_failed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rechecked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    soaking_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decocting_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    packaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    picked_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("milestones")
        verbose_name_plural = _("milestones")
        indexes = [
            models.Index(fields=["submitted_at"], name="milestone_submitted"),
            models.Index(fields=["institution", "submitted_at"], name="milestone_institution"),
            models.Index(fields=["prescriber", "submitted_at"], name="milestone_prescriber"),
            models.Index(fields=["status", "submitted_at"], name="milestone_status"),
        ]

    def __str__(self):
        return f"{self.prescription_id} {self.status}"
