"""Every write of a remote consult. Keyword-only; ValidationError names the field at fault and
leaves nothing written, PermissionDenied refuses someone who is not the party the workflow table
names, Conflict (core.exceptions) answers a step the consult's state no longer allows (a claim
another expert won). Each step changes the consult and appends its event in one transaction."""

import json
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import ensure_capability, has_capability, institution_tree_for
from core.exceptions import Conflict
from core.ids import idempotency_key, parse_id
from core.images import normalize_photo
from core.keys import current_key_id
from patients.models import AttachmentKind, ConsultMode, Pregnancy
from patients.permissions import patients_visible_to
from patients.selectors import patient_with_allergies
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .integrity import event_hash, head_mac
from .models import ConsultEvent, RemoteConsult, RemoteConsultPhoto
from .permissions import ensure_may_take
from .workflow import MOVES, Status, Step

TEXT_FIELDS = {"chief_complaint": 200, "history": 2000, "tongue": 100, "pulse": 100}
# Plausible readings of a living patient: a typo (375 for 37.5) is an error at its field.
VITALS = {
    "temperature_c": (Decimal("34.0"), Decimal("43.0")),
    "systolic_mmhg": (50, 260),
    "diastolic_mmhg": (30, 160),
    "heart_rate": (20, 250),
    "respiration_rate": (5, 60),
    "weight_kg": (Decimal("0.5"), Decimal("300.0")),
}
PHOTO_FIELDS = {f"{kind}_photo": kind for kind in AttachmentKind.values}
MESSAGE_LENGTH = 1000


def clean_request_values(values: dict) -> dict:
    """The findings of the village doctor's examination, checked: a chief complaint, texts within
    their lengths, vital signs within the range of a living patient, a known pregnancy status.
    Raises ValidationError with every field's message."""
    errors, cleaned = {}, {}
    for key, length in TEXT_FIELDS.items():
        text = str(values.get(key) or "").strip()
        if len(text) > length:
            errors[key] = [_("At most %(n)d characters.") % {"n": length}]
        cleaned[key] = text
    if not cleaned["chief_complaint"]:
        errors["chief_complaint"] = [_("Give the chief complaint.")]
    for key, (low, high) in VITALS.items():
        value = values.get(key)
        if value in (None, ""):
            cleaned[key] = None
        elif not low <= value <= high:
            errors[key] = [_("Enter a value from %(low)s to %(high)s.") % {"low": low, "high": high}]
        else:
            cleaned[key] = value
    low_pressure, high_pressure = cleaned.get("diastolic_mmhg"), cleaned.get("systolic_mmhg")
    if low_pressure and high_pressure and low_pressure >= high_pressure:
        errors["diastolic_mmhg"] = [_("The diastolic pressure must be below the systolic.")]
    cleaned["pregnancy"] = values.get("pregnancy") or Pregnancy.UNKNOWN
    if cleaned["pregnancy"] not in Pregnancy.values:
        errors["pregnancy"] = [_("Unknown pregnancy status.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _routing(actor, *, institution_id, expert_id) -> tuple:
    """The hospital and (optionally) the named expert a request goes to: a hospital above the
    actor's clinic, the county's lead hospital when none is chosen; a named expert must answer
    remote consults at a hospital above the clinic."""
    tree = institution_tree_for(actor)
    above = tree.ancestor_ids(actor.institution_id)
    institution_id, expert_id = parse_id(institution_id or ""), parse_id(expert_id or "")
    if not above:
        raise ValidationError(_("No hospital is above your institution to ask."))
    if expert_id:
        expert = get_user_model().objects.filter(pk=expert_id, is_active=True).first()
        if expert is None or expert.institution_id not in above or not has_capability(expert, "answer_remote_consults"):
            raise ValidationError({"routed_expert": [_("Choose an expert of a hospital above your clinic.")]})
        return tree.institution(expert.institution_id), expert
    target = institution_id or above[-1]
    if target not in above or not tree.rows[target][3]:
        raise ValidationError({"routed_institution": [_("Choose an active hospital above your clinic.")]})
    return tree.institution(target), None


def _photos(photos: dict, *, stem: str) -> list[tuple[str, object]]:
    """Each given upload ({"tongue_photo": file, …}) as a clean JPEG, or one error per bad field."""
    clean, errors = [], {}
    for field, upload in photos.items():
        if upload is None:
            continue
        if field not in PHOTO_FIELDS:
            errors[field] = [_("Unknown kind of photo.")]
            continue
        try:
            clean.append((PHOTO_FIELDS[field], normalize_photo(upload, name=f"{stem}-{PHOTO_FIELDS[field]}")))
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    return clean


def _collect(errors: dict, check, *args, **kwargs):
    """`check(*args, **kwargs)`, or None with its ValidationError's messages added to `errors`
    (a message for no field under `non_field_errors`): every part of a request reports at once."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        errors.update(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
        return None


def remote_consult_request(
    *, actor, patient_id, values: dict, photos: dict | None = None, routed_institution=None, routed_expert=None
) -> tuple[RemoteConsult, bool]:
    """Open a remote consult for a patient of the actor's clinic, routed to a hospital above it
    (or a named expert there), with its tongue and face photos. Every field and photo is checked
    before anything is written. Returns (consult, created): the same idempotency key from the same
    village doctor returns the first consult."""
    ensure_capability(actor, "request_remote_consults")
    key = idempotency_key(values.get("idempotency_key"))
    if key and (existing := RemoteConsult.objects.filter(requested_by=actor, idempotency_key=key).first()):
        return existing, False
    errors = {}
    patient_id = parse_id(patient_id)
    # The clinic's own patient: the consult, and the prescription it may bring, belong to the clinic.
    own = patients_visible_to(actor).filter(institution_id=actor.institution_id)
    patient = own.filter(pk=patient_id).first() if patient_id else None
    if patient is None:
        errors["patient"] = [_("No such patient in your institution.")]
    cleaned = _collect(errors, clean_request_values, values)
    clean_photos = _collect(errors, _photos, photos or {}, stem=f"remote-{timezone.localdate():%Y%m%d}")
    route = _collect(errors, _routing, actor, institution_id=routed_institution, expert_id=routed_expert)
    if errors:
        raise ValidationError(errors)
    consult = RemoteConsult(
        patient=patient,
        institution_id=actor.institution_id,
        requested_by=actor,
        routed_institution=route[0],
        routed_expert=route[1],
        idempotency_key=key,
        **cleaned,
    )
    try:
        with transaction.atomic(), _files_removed_if_undone() as stored:
            consult.save()
            stored += _store_photos(consult, clean_photos, actor=actor)
            _append(consult, step=Step.REQUESTED, actor=actor, data={"photos": len(clean_photos)})
            consult.save(update_fields=["event_count", "trace_head", "trace_head_mac"])
    except IntegrityError:
        if key and (existing := RemoteConsult.objects.filter(requested_by=actor, idempotency_key=key).first()):
            return existing, False  # the same request raced itself
        raise
    return consult, True


def _store_photos(consult: RemoteConsult, photos: list, *, actor) -> list[RemoteConsultPhoto]:
    return [
        RemoteConsultPhoto.objects.create(consult=consult, kind=kind, image=image, uploaded_by=actor)
        for kind, image in photos
    ]


@contextmanager
def _files_removed_if_undone():
    """A list for the photos a block stores: their files are written at once and are not rolled
    back with the rows, so if the block fails they are removed (no patient photo left on disk
    that no record points to)."""
    stored = []
    try:
        yield stored
    except BaseException:
        for photo in stored:
            photo.image.delete(save=False)
        raise


def _append(consult: RemoteConsult, *, step: str, actor, text: str = "", data: dict | None = None) -> ConsultEvent:
    """The consult's next event, chained to the one before (teleconsult.integrity); the caller
    saves the consult's `event_count` and `trace_head` in the same transaction."""
    consult.event_count += 1
    event = ConsultEvent(
        consult=consult,
        seq=consult.event_count,
        step=step,
        actor=actor,
        actor_name=str(actor)[:50],
        at=timezone.now(),
        text=text,
        data=json.loads(json.dumps(data or {})),  # as it will read back from the JSON column
        key_id=current_key_id(),
        prev_hash=consult.trace_head,
    )
    event.hash = event_hash(event, key_id=event.key_id)
    event.save()
    consult.trace_head = event.hash
    consult.trace_head_mac = head_mac(consult)  # the caller has set the status this step leaves
    return event


def _refusal(consult: RemoteConsult) -> Conflict:
    """Why a step no longer fits the consult's current state, in words for the person."""
    if consult.status in (Status.CLAIMED, Status.ASKING) and consult.claimed_by_id:
        return Conflict(
            _("%(name)s claimed this consult at %(time)s.")
            % {
                "name": str(consult.claimed_by),
                "time": f"{timezone.localtime(consult.claimed_at):%H:%M}",
            }
        )
    return Conflict(_("This consult is now: %(status)s.") % {"status": consult.get_status_display()})


@transaction.atomic
def _move(*, actor, consult: RemoteConsult, step: str, text: str = "", data=None, changes=None) -> RemoteConsult:
    """Take `step` under a lock on the consult's row, so two experts claiming at once are served
    one after the other: the first claims, the second gets a Conflict naming the first."""
    # No join under the lock: PostgreSQL re-reads only the locked row after waiting for it, so a
    # joined expert would be the one of before the wait.
    locked = RemoteConsult.objects.select_for_update().get(pk=consult.pk)
    sources, to, _party = MOVES[step]
    if locked.status not in sources:
        raise _refusal(locked)
    ensure_may_take(actor, locked, step)
    for name, value in (changes or {}).items():
        setattr(locked, name, value)
    if to is not None:
        locked.status = to
    _append(locked, step=step, actor=actor, text=text, data=data)
    locked.save()
    return locked


def _message(text, *, field: str, required: bool = True) -> str:
    text = str(text or "").strip()
    if required and not text:
        raise ValidationError({field: [_("Write something first.")]})
    if len(text) > MESSAGE_LENGTH:
        raise ValidationError({field: [_("At most %(n)d characters.") % {"n": MESSAGE_LENGTH}]})
    return text


def remote_consult_claim(*, actor, consult: RemoteConsult) -> RemoteConsult:
    """An expert it is routed to takes the consult; one claim wins."""
    return _move(
        actor=actor, consult=consult, step=Step.CLAIMED, changes={"claimed_by": actor, "claimed_at": timezone.now()}
    )


def remote_consult_release(*, actor, consult: RemoteConsult) -> RemoteConsult:
    """The expert who holds it gives it back to the queue for another expert."""
    return _move(actor=actor, consult=consult, step=Step.RELEASED, changes={"claimed_by": None, "claimed_at": None})


def remote_consult_ask(*, actor, consult: RemoteConsult, question) -> RemoteConsult:
    """The expert asks the village doctor something (another photo, a symptom) before answering."""
    return _move(actor=actor, consult=consult, step=Step.ASKED, text=_message(question, field="question"))


def remote_consult_reply(*, actor, consult: RemoteConsult, answer, photos: dict | None = None) -> RemoteConsult:
    """The village doctor answers the expert's question, with photos if it asked for them."""
    text = _message(answer, field="answer")
    clean_photos = _photos(photos or {}, stem=f"remote-{consult.pk}")
    with transaction.atomic():
        consult = _move(actor=actor, consult=consult, step=Step.ANSWERED, text=text, data={"photos": len(clean_photos)})
        with _files_removed_if_undone() as stored:
            stored += _store_photos(consult, clean_photos, actor=actor)
    return consult


def remote_consult_add_photo(*, actor, consult: RemoteConsult, kind: str, upload) -> RemoteConsultPhoto:
    """A photo taken after the request, while the consult is open."""
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": [_("Choose tongue, face or other.")]})
    try:
        image = normalize_photo(upload, name=f"remote-{consult.pk}-{kind}")
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    with transaction.atomic(), _files_removed_if_undone() as stored:
        _move(actor=actor, consult=consult, step=Step.PHOTO_ADDED, data={"kind": kind})
        stored += _store_photos(consult, [(kind, image)], actor=actor)
    return stored[0]


def remote_consult_advise(*, actor, consult: RemoteConsult, advice) -> RemoteConsult:
    """The expert answers without a prescription (advice, a referral): the consult closes."""
    text = _message(advice, field="advice")
    return _move(actor=actor, consult=consult, step=Step.ADVISED, text=text, changes={"advice": text})


def remote_consult_withdraw(*, actor, consult: RemoteConsult, reason) -> RemoteConsult:
    """The village doctor withdraws a consult no longer needed (the patient went to hospital)."""
    return _move(actor=actor, consult=consult, step=Step.WITHDRAWN, text=_message(reason, field="reason"))


def consult_findings(consult: RemoteConsult) -> dict:
    """The village doctor's findings as the prescription's consult fields (the editor's `consult.*`),
    those recorded only."""
    found = {
        "chief_complaint": consult.chief_complaint,
        "present_illness": consult.history,
        "tongue": consult.tongue,
        "pulse": consult.pulse,
        "pregnancy": consult.pregnancy,
        "weight_kg": consult.weight_kg,
    }
    return {key: value for key, value in found.items() if value not in (None, "")}


def remote_consult_prescribe(*, actor, consult: RemoteConsult, form: PrescriptionForm, request=None):
    """The expert who holds the consult writes the prescription in the normal editor, for the
    patient of the village clinic and belonging to the clinic (whose doctor hands it over and
    prints the receipt). The consult's findings fill what the editor left blank; the consult is
    marked prescribed in the submit's own transaction. Returns (prescription, created) as
    prescriptions.services.prescription_submit does: a retry with the same idempotency key
    returns the prescription it made."""
    key = idempotency_key(form.idempotency_key)
    consult = RemoteConsult.objects.select_related("prescription", "institution").get(pk=consult.pk)
    made = consult.prescription
    if made is not None and key and made.prescriber_id == actor.pk and made.idempotency_key == key:
        return made, False
    if consult.status not in MOVES[Step.PRESCRIBED][0]:
        raise _refusal(consult)
    ensure_may_take(actor, consult, Step.PRESCRIBED)
    written = {key: value for key, value in dict(form.consult or {}).items() if value not in (None, "")}
    form = replace(form, consult={**consult_findings(consult), **written, "mode": ConsultMode.REMOTE})

    def record(prescription):
        _move(
            actor=actor,
            consult=consult,
            step=Step.PRESCRIBED,
            data={"prescription": prescription.pk, "number": prescription.number},
            changes={"prescription": prescription},
        )

    prescription, created = prescription_submit(
        actor=actor,
        patient=patient_with_allergies(consult.patient_id),
        form=form,
        request=request,
        institution=consult.institution,
        then=record,
    )
    recorded = RemoteConsult.objects.filter(pk=consult.pk).values_list("prescription_id", flat=True).first()
    if not created and prescription.pk != recorded:  # read again: a retry may have raced its original
        raise ValidationError({"idempotency_key": [_("This idempotency key belongs to another prescription.")]})
    return prescription, created
