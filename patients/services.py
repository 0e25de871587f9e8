"""All writes of the patients app: registering and changing patients, and consult photos."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import can_see_institution, ensure_capability
from catalogue.selectors import herb_resolve
from core.images import normalize_photo

from .models import AttachmentKind, Consult, ConsultAttachment, Patient, PatientChange
from .permissions import patients_visible_to
from .validators import parse_id_number, validate_mobile

PATIENT_FIELDS = (
    "name",
    "sex",
    "date_of_birth",
    "mobile",
    "id_number",
    "address",
    "township",
    "allergy_notes",
    "notes",
)


def resolve_allergy_names(names) -> list:
    """Herbs for the names a clinician typed ('白芍、甘草'); unknown names are a field error."""
    if isinstance(names, str):
        for separator in "，,、;；":
            names = names.replace(separator, " ")
        names = names.split()
    herbs, unknown = [], []
    for name in names:
        herb = herb_resolve(str(name), as_dispensed=False)  # an allergy to 川乌 is to 川乌
        (herbs.append(herb) if herb else unknown.append(str(name)))
    if unknown:
        raise ValidationError({"allergies": _("Not in the herb catalogue: %(names)s") % {"names": "、".join(unknown)}})
    return herbs


def clean_patient_values(values: dict, *, today: date | None = None) -> dict:
    """Normalise and check patient fields; derive date of birth and sex from the ID number.

    Raises ValidationError with one message per bad field."""
    today = today or timezone.localdate()
    errors: dict[str, list] = {}
    cleaned = {key: values[key] for key in PATIENT_FIELDS if key in values}
    for key in ("name", "mobile", "id_number", "address", "township", "allergy_notes", "notes"):
        if key in cleaned:
            cleaned[key] = (cleaned[key] or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        errors.setdefault("name", []).append(_("A name is required."))
    if "mobile" in cleaned:
        try:
            cleaned["mobile"] = validate_mobile(cleaned["mobile"])
        except ValidationError as exc:
            errors.setdefault("mobile", []).extend(exc.messages)
    if cleaned.get("id_number"):
        try:
            number, born, sex = parse_id_number(cleaned["id_number"], today=today)
        except ValidationError as exc:
            errors.setdefault("id_number", []).extend(exc.messages)
        else:
            cleaned["id_number"] = number
            if cleaned.get("date_of_birth") and cleaned["date_of_birth"] != born:
                errors.setdefault("date_of_birth", []).append(
                    _("The date of birth does not match the ID number (%(date)s).") % {"date": born.isoformat()}
                )
            if cleaned.get("sex") and cleaned["sex"] != sex:
                errors.setdefault("sex", []).append(_("The sex does not match the ID number."))
            cleaned["date_of_birth"], cleaned["sex"] = born, sex
    if "date_of_birth" in cleaned:
        if not cleaned["date_of_birth"]:
            errors.setdefault("date_of_birth", []).append(_("A date of birth is required (or give the ID number)."))
        elif cleaned["date_of_birth"] > today:
            errors.setdefault("date_of_birth", []).append(_("The date of birth cannot be in the future."))
    if "sex" in cleaned and cleaned["sex"] not in ("M", "F"):
        errors.setdefault("sex", []).append(_("Choose male or female (or give the ID number)."))
    if "allergies" in values and values["allergies"] is not None:
        try:
            cleaned["allergies"] = resolve_allergy_names(values["allergies"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _save(patient: Patient, cleaned: dict, *, actor) -> Patient:
    """Apply `cleaned` and save. The ID number is checked against the patients the actor may see
    and no others: a person registered only at an institution outside the actor's subtree is
    registered here too, exactly as someone never seen before would be, because telling a clinician
    that a resident is a patient somewhere else in the county discloses health information they
    have no part in (PIPL art. 28). Those whose subtree holds both records see both."""
    allergies = cleaned.pop("allergies", None)
    for key, value in cleaned.items():
        setattr(patient, key, value)
    if patient.id_number:
        twin = (
            patients_visible_to(actor)
            .filter(id_number=patient.id_number)
            .exclude(pk=patient.pk)
            .select_related("institution")
            .first()
        )
        if twin is not None:
            raise ValidationError({"id_number": already_registered(twin)})
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # Registered at the same institution a moment ago, which the actor sees.
        twin = Patient.objects.select_related("institution").get(
            institution_id=patient.institution_id, id_number=patient.id_number
        )
        raise ValidationError({"id_number": already_registered(twin)}) from None
    if allergies is not None:
        patient.allergies.set(allergies)
    return patient


def already_registered(twin: Patient) -> str:
    return _("%(name)s (%(institution)s) is already registered with this ID number; open their record.") % {
        "name": twin.name,
        "institution": twin.institution.name,
    }


def patient_details(patient: Patient) -> dict[str, str]:
    """The patient's editable details as text, the form a history row keeps them in."""
    details = {key: "" if getattr(patient, key) is None else str(getattr(patient, key)) for key in PATIENT_FIELDS}
    details["allergies"] = "、".join(patient.allergies.order_by("name").values_list("name", flat=True))
    return details


@transaction.atomic
def patient_create(*, actor, values: dict) -> Patient:
    """Register a patient at the actor's institution."""
    ensure_capability(actor, "manage_patients")
    if not actor.institution_id:
        raise ValidationError(_("Your account belongs to no institution; ask an administrator."))
    required = {key: values.get(key, "") for key in ("name", "mobile")}
    cleaned = clean_patient_values({"sex": "", "date_of_birth": None, **values, **required})
    return _save(Patient(institution_id=actor.institution_id, created_by=actor), cleaned, actor=actor)


@transaction.atomic
def patient_update(*, actor, patient: Patient, values: dict) -> Patient:
    """Change the given fields of a patient the actor may see, and record the change — who, when,
    each changed field old → new — as a PatientChange in the same transaction (none when nothing
    changed)."""
    ensure_capability(actor, "manage_patients")
    if not can_see_institution(actor, patient.institution_id):
        raise ValidationError(_("This patient is registered at an institution you cannot see."))
    cleaned = clean_patient_values(values)
    before = patient_details(patient)
    patient = _save(patient, cleaned, actor=actor)
    after = patient_details(patient)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        PatientChange.objects.create(patient=patient, changed_by=actor, changes=changes)
    return patient


@transaction.atomic
def consult_attach_photo(*, actor, consult: Consult, kind: str, upload, file_stem: str) -> ConsultAttachment:
    """Attach a tongue/face photo to a consult (checked and normalised), stored as
    `<file_stem>-<kind>.jpg`; the caller names the file (prescriptions use the prescription number).

    Raises ValidationError for an actor who may not prescribe or see the consult's institution,
    an unknown kind, or a file that is not a usable photo."""
    ensure_capability(actor, "prescribe")
    if not can_see_institution(actor, consult.institution_id):
        raise ValidationError(_("This patient is registered at an institution you cannot see."))
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": [_("Choose tongue, face or other.")]})
    try:
        photo = normalize_photo(upload, name=f"{file_stem}-{kind}")
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    return ConsultAttachment.objects.create(consult=consult, kind=kind, image=photo, uploaded_by=actor)
