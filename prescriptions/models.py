from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Patient(models.Model):
    """A patient registered at one institution. Pregnancy is recorded per consult, not here."""

    name = models.CharField(_("full name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    mobile = models.CharField(_("mobile"), max_length=11, db_index=True)
    id_number = models.CharField(_("resident ID number"), max_length=18, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    township = models.CharField(_("township"), max_length=50, blank=True)
    allergies = models.ManyToManyField(
        "catalogue.Herb", verbose_name=_("herb allergies"), blank=True, related_name="allergic_patients"
    )
    allergy_notes = models.CharField(_("other allergies"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("registered at"), on_delete=models.PROTECT, related_name="patients"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["id_number"], condition=~Q(id_number=""), name="patient_id_number_unique"),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name

    @property
    def masked_name(self) -> str:
        """张*三 / 李* — for places a stranger may see."""
        if len(self.name) <= 1:
            return self.name
        if len(self.name) == 2:
            return self.name[0] + "*"
        return self.name[0] + "*" * (len(self.name) - 2) + self.name[-1]

    def age_on(self, day) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
