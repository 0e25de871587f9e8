"""Patients and their consults (问诊), with the consult photos.

These models were born in the prescriptions app: they keep its table names (and so the names of
their indexes and constraints), so the move to this app changed no table."""

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
        db_table = "prescriptions_patient"
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Per institution, not county-wide: a person registered at another institution is
            # registered here again rather than told about (patients.services).
            models.UniqueConstraint(
                fields=["institution", "id_number"],
                condition=~Q(id_number=""),
                name="patient_id_number_unique_per_institution",
            ),
        ]
        indexes = [
            models.Index(fields=["name"], name="prescriptio_name_f01d7b_idx"),
            # The unique constraint leads with the institution; the scoped duplicate check and the
            # cross-prescription check look a resident up by ID number alone.
            models.Index(fields=["id_number"], name="patient_id_number_idx"),
        ]

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


class PatientChange(models.Model):
    """One change of a patient's details: who made it, when, and each changed field as
    `{"field": [old, new]}` (text; allergies as herb names). Written by patients.services in the
    transaction of the change; never edited. Its values are the patient's personal data: shown only
    where the patient is."""

    patient = models.ForeignKey(Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    changes = models.JSONField(_("changes"))

    class Meta:
        verbose_name = _("patient change")
        verbose_name_plural = _("patient changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self):
        return f"{self.patient_id} {self.changed_at:%Y-%m-%d %H:%M}"


class ConsultMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    VISITING_EXPERT = "visiting_expert", _("Visiting expert")
    REMOTE = "remote", _("Remote with a village doctor")


class Pregnancy(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    NO = "no", _("Not pregnant")
    YES = "yes", _("Pregnant")


class Consult(models.Model):
    """One consultation (问诊): what the clinician found and concluded."""

    patient = models.ForeignKey(Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="consults")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("clinician"), on_delete=models.PROTECT, related_name="consults"
    )
    institution = models.ForeignKey(
        "accounts.Institution", verbose_name=_("institution"), on_delete=models.PROTECT, related_name="consults"
    )
    mode = models.CharField(
        _("consult mode"), max_length=20, choices=ConsultMode.choices, default=ConsultMode.IN_PERSON
    )
    chief_complaint = models.CharField(_("chief complaint"), max_length=200, blank=True)
    present_illness = models.TextField(_("present illness"), blank=True)
    tongue = models.CharField(_("tongue"), max_length=100, blank=True)
    pulse = models.CharField(_("pulse"), max_length=100, blank=True)
    tcm_disease = models.CharField(_("TCM disease"), max_length=100)
    tcm_syndrome = models.CharField(_("TCM syndrome"), max_length=100, blank=True)
    western_icd10 = models.CharField(_("ICD-10 code"), max_length=10, blank=True)
    western_diagnosis = models.CharField(_("western diagnosis"), max_length=100, blank=True)
    pregnancy = models.CharField(_("pregnancy"), max_length=10, choices=Pregnancy.choices, default=Pregnancy.UNKNOWN)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        db_table = "prescriptions_consult"
        verbose_name = _("consult")
        verbose_name_plural = _("consults")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.patient} {self.tcm_disease}"


class AttachmentKind(models.TextChoices):
    TONGUE = "tongue", _("Tongue photo")
    FACE = "face", _("Face photo")
    OTHER = "other", _("Other")


class ConsultAttachment(models.Model):
    """A photo taken at the consult, stored as a normalised JPEG without EXIF. Served only through
    a view that checks who may see the consult, never as a public media file."""

    consult = models.ForeignKey(
        Consult, verbose_name=_("consult"), on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AttachmentKind.choices)
    image = models.FileField(_("photo"), upload_to="consults/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        db_table = "prescriptions_consultattachment"
        verbose_name = _("consult photo")
        verbose_name_plural = _("consult photos")
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.consult_id} {self.kind}"
