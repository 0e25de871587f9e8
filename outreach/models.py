"""The visiting-expert schedule (巡回坐诊): which expert sits at which health centre, on which day,
from when to when; and which prescriptions were written during each session.

A session has a start and an end time (local time, TIME_ZONE) rather than a morning/afternoon slot:
townships announce sessions such as 08:30-11:30, and the overlap rule and the consult link compare
times directly."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ClinicSession(models.Model):
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("expert"), on_delete=models.PROTECT, related_name="+"
    )
    institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("health centre"), on_delete=models.PROTECT, related_name="+"
    )
    date = models.DateField(_("date"))
    starts_at = models.TimeField(_("starts at"))
    ends_at = models.TimeField(_("ends at"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Cancelled, never deleted: a held session keeps the consults it recorded.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("visiting-expert session")
        verbose_name_plural = _("visiting-expert sessions")
        ordering = ["date", "starts_at", "pk"]
        indexes = [
            models.Index(fields=["expert", "date"], name="clinic_session_expert"),
            models.Index(fields=["institution", "date"], name="clinic_session_place"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.date} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    @property
    def weekday(self) -> int:
        """ISO weekday: 1 is Monday, 7 Sunday."""
        return self.date.isoweekday()


class SessionConsult(models.Model):
    """A prescription written by the session's expert at its centre during its times: linked once
    (outreach.services.consults_link), never by hand."""

    session = models.ForeignKey(ClinicSession, on_delete=models.PROTECT, related_name="consults")
    prescription = models.OneToOneField(
        "prescriptions.Prescription", on_delete=models.CASCADE, related_name="+", verbose_name=_("prescription")
    )
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consult in a session")
        verbose_name_plural = _("consults in sessions")

    def __str__(self):
        return f"{self.session_id}: {self.prescription_id}"
