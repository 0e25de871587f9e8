"""Remote consults (远程会诊): a village doctor examines the patient and asks the hospitals above
their clinic; an expert there claims the request, may ask back, and answers with a prescription
written for the village clinic (or with advice alone). Each step is an append-only event of the
consult."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnly
from patients.models import AttachmentKind, Pregnancy

from .workflow import Status, Step


class RemoteConsult(models.Model):
    patient = models.ForeignKey(
        "patients.Patient", verbose_name=_("patient"), on_delete=models.PROTECT, related_name="+"
    )
    # The village doctor's clinic: the patient's institution, and the prescription's.
    institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("village doctor"), on_delete=models.PROTECT, related_name="+"
    )
    # Routed to a hospital above the clinic (any of its experts may claim) or to one named expert.
    routed_institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("routed to"), on_delete=models.PROTECT, related_name="+"
    )
    routed_expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("named expert"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    chief_complaint = models.CharField(_("chief complaint"), max_length=200)
    history = models.TextField(_("present illness and history"), max_length=2000, blank=True)
    tongue = models.CharField(_("tongue"), max_length=100, blank=True)
    pulse = models.CharField(_("pulse"), max_length=100, blank=True)
    temperature_c = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)
    systolic_mmhg = models.PositiveSmallIntegerField(_("systolic pressure (mmHg)"), null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField(_("diastolic pressure (mmHg)"), null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(_("heart rate (/min)"), null=True, blank=True)
    respiration_rate = models.PositiveSmallIntegerField(_("respiration (/min)"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    pregnancy = models.CharField(_("pregnancy"), max_length=10, choices=Pregnancy.choices, default=Pregnancy.UNKNOWN)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("expert"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    prescription = models.OneToOneField(
        "prescriptions.Prescription",
        verbose_name=_("prescription"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    advice = models.TextField(_("expert's advice"), max_length=2000, blank=True)
    event_count = models.PositiveIntegerField(default=0, editable=False)
    trace_head = models.CharField(max_length=64, blank=True, editable=False)  # the last event's hash
    trace_head_mac = models.CharField(max_length=80, blank=True, editable=False)  # teleconsult.integrity
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("remote consult")
        verbose_name_plural = _("remote consults")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["routed_institution", "status"], name="remote_consult_routed"),
            models.Index(fields=["institution", "created_at"], name="remote_consult_clinic"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="remote_consult_once_per_key",
            ),
        ]

    def __str__(self):
        return f"{self.pk} {self.chief_complaint}"


class RemoteConsultPhoto(models.Model):
    """A tongue or face photo the village doctor took: stored as a normalised JPEG without EXIF
    (core.images), served only through a view that checks who may see the consult."""

    consult = models.ForeignKey(RemoteConsult, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(_("kind"), max_length=10, choices=AttachmentKind.choices)
    image = models.FileField(_("photo"), upload_to="remote-consults/%Y/%m/")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("remote consult photo")
        verbose_name_plural = _("remote consult photos")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.consult_id} {self.kind}"


class ConsultEvent(AppendOnly):
    """One step of a remote consult: who, when, what was said. Append-only (the ORM refuses
    changes; on PostgreSQL a trigger refuses them in SQL too), numbered 1, 2, … per consult, and
    chained as the prescriptions' trace is: each carries the hash of the one before and a hash of
    its own content keyed with the trace key `key_id` (teleconsult.integrity checks them)."""

    consult = models.ForeignKey(RemoteConsult, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("position"))
    step = models.CharField(_("step"), max_length=12, choices=Step.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("by (name)"), max_length=50)
    at = models.DateTimeField(_("at"))
    text = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    key_id = models.CharField(_("key id"), max_length=8, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("remote consult event")
        verbose_name_plural = _("remote consult events")
        ordering = ["consult", "seq"]
        constraints = [models.UniqueConstraint(fields=["consult", "seq"], name="consult_event_seq_once")]

    def __str__(self):
        return f"{self.consult_id} #{self.seq} {self.step}"
