"""Delivery runs, stops, pickups and the patient notifications outbox."""

from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import InstitutionKind


class DeliveryRun(models.Model):
    """One courier's trip from a delivery station to an area (township)."""

    station = models.ForeignKey(
        "accounts.Institution",
        verbose_name=_("delivery station"),
        on_delete=models.PROTECT,
        related_name="delivery_runs",
    )
    courier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("courier"), on_delete=models.PROTECT, related_name="delivery_runs"
    )
    area = models.CharField(_("area"), max_length=50)
    is_open = models.BooleanField(_("open"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery run")
        verbose_name_plural = _("delivery runs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.area} {self.courier} {self.created_at:%m-%d %H:%M}"


class StopStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    SHIPPED = "shipped", _("On the way")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Not delivered")


class DeliveryStop(models.Model):
    run = models.ForeignKey(DeliveryRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="stops")
    prescription = models.ForeignKey(
        "prescriptions.Prescription",
        verbose_name=_("prescription"),
        on_delete=models.PROTECT,
        related_name="delivery_stops",
    )
    position = models.PositiveSmallIntegerField(_("position"))
    status = models.CharField(_("status"), max_length=10, choices=StopStatus.choices, default=StopStatus.WAITING)
    expected_at = models.DateTimeField(_("expected at"), null=True, blank=True)
    receiver_name = models.CharField(_("received by"), max_length=50, blank=True)
    failure_reason = models.CharField(_("why not delivered"), max_length=200, blank=True)
    photo = models.FileField(_("delivery photo"), upload_to="deliveries/%Y/%m/", blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("delivery stop")
        verbose_name_plural = _("delivery stops")
        ordering = ["run", "position"]

    def __str__(self):
        return f"{self.run_id}/{self.position} {self.prescription_id}"


class PickupCode(models.Model):
    """The 6-digit code the patient shows to pick up a prescription at the clinic."""

    prescription = models.OneToOneField(
        "prescriptions.Prescription", on_delete=models.CASCADE, related_name="pickup_code"
    )
    code = models.CharField(max_length=6)

    def __str__(self):
        return f"{self.prescription_id}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    """Transactional outbox: written by delivery's pull of the trace (services.trace_pull), in the
    transaction that moves its cursor past the stage's event, not in the stage's own transaction
    (the periodic reconciliation writes one the pull stepped over); sent by a Celery task through
    the configured backend, retried with backoff, sent once."""

    prescription = models.ForeignKey(
        "prescriptions.Prescription", on_delete=models.CASCADE, related_name="notifications"
    )
    stage = models.CharField(_("stage"), max_length=20)
    message = models.CharField(_("message"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["prescription", "stage"], name="one_notification_per_stage")]

    def __str__(self):
        return f"{self.prescription_id} {self.stage} {self.status}"


class TraceCursor(models.Model):
    """How far an app has handled the prescriptions' trace, which is its outbox: every event up to
    `last_event_id`, and the ids above it in `handled_above` (events that committed while an
    older id was still invisible: an open transaction, or one rolled back). The pull locks this
    row and moves it in the transaction that writes what the events caused.

    `gaps_seen` says since when the pulls have seen the invisible ids above `last_event_id`
    missing: pairs [id, time], meaning the pull at that time got every event up to that id that
    had committed, so an id at or below it that is still missing has been missing since then.
    A gap is stepped over once it has stayed open that long (the pull's grace), whatever the time
    of the events above it says: an event's time is when it was written, not when it committed."""

    name = models.CharField(max_length=50, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    handled_above = models.JSONField(default=list, blank=True)
    gaps_seen = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name} @ {self.last_event_id}"


class DeliveryHours(models.Model):
    """When a delivery station's couriers deliver (local time): a failed stop is rescheduled
    inside these hours (delivery.services.hours). A station with no row uses the defaults."""

    station = models.OneToOneField(
        "accounts.Institution",
        verbose_name=_("delivery station"),
        on_delete=models.CASCADE,
        related_name="delivery_hours",
        limit_choices_to={"kind": InstitutionKind.DELIVERY_STATION},
    )
    opens_at = models.TimeField(_("deliveries start at"), default=time(8, 0))
    closes_at = models.TimeField(_("deliveries end at"), default=time(18, 0))

    class Meta:
        verbose_name = _("delivery hours")
        verbose_name_plural = _("delivery hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")), name="hours_open_before_close"
            )
        ]

    def __str__(self):
        return f"{self.station} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"
