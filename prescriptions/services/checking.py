"""The rule check of a draft: the patient's clinical facts and other active prescriptions put
into the audit interchange form, and the precheck (findings and price, nothing saved)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import ensure_capability
from core.db import related_names
from core.input import whole_number
from patients.models import Patient
from rules import engine
from rules.cross import relevant_names
from rules.services import check_draft, live_snapshot

from ..selectors import patient_active_lines
from ..workflow import Decoction, DeliveryMode
from .drafting import MAX_DOSES, ClinicalFacts, PrescriptionForm, clean_facts, clean_items, price_quote


def age_years(patient, today=None) -> Decimal:
    return years_since(patient.date_of_birth, today)


def years_since(born, today=None) -> Decimal:
    today = today or timezone.localdate()
    return (Decimal((today - born).days) / Decimal("365.25")).quantize(Decimal("0.01"))


def allergy_names(patient) -> list[str]:
    """The catalogue names of the patient's allergies: read with the patient when it was loaded
    by patients.selectors.patient_with_allergies (or prefetched), else one query."""
    if hasattr(patient, "allergy_names"):
        return patient.allergy_names
    prefetched = getattr(patient, "_prefetched_objects_cache", {})
    if "allergies" in prefetched:
        return [herb.name for herb in prefetched["allergies"]]
    return related_names(Patient.allergies, patient.pk)


def patient_facts(patient, *, pregnancy="", weight_kg=None, allergy_names_given=()) -> ClinicalFacts:
    """The clinical facts of a registered patient with this consult's pregnancy and weight; raises
    ValidationError at the field (a pregnant male is `consult.pregnancy`)."""
    return clean_facts(
        sex=patient.sex,
        age_years=age_years(patient),
        pregnancy=pregnancy,
        weight_kg=weight_kg,
        allergy_names=allergy_names_given,
        known_allergies=allergy_names(patient),
    )


def others_for_audit(patient, *, previous=None) -> list[dict]:
    """The patient's other active prescriptions of the last 7 days in the interchange form's
    `others` (other_prescriptions, every line)."""
    return [
        {
            "number": other.number,
            "doses": other.doses,
            "items": [{"herb": i.herb, "grams": str(i.grams), "instruction": i.instruction} for i in other.items],
        }
        for other in other_prescriptions(patient, previous=previous)
    ]


def other_prescriptions(patient, *, previous=None, rules=None, herbs=None) -> tuple[engine.OtherPrescription, ...]:
    """The patient's other active prescriptions of the last 7 days for the engine's cross rules,
    herbs as each prescription wrote them: the engine reads the name the way that prescription
    was read (the bare-name policy must not turn a 生川乌 resolved to 川乌 into 制川乌). Given the
    rule snapshot `rules` and the draft's `herbs` (names as written), only the lines the cross
    rules can use against them (rules.cross.relevant_names); every line otherwise."""
    written = relevant_names(rules, herbs) if rules is not None and herbs is not None else None
    others: dict[int, tuple] = {}
    exclude = [previous.pk if previous else None]
    for line in patient_active_lines(patient, written_names=written, exclude_ids=exclude):
        number, doses, items = others.setdefault(line.prescription_id, (line.number, line.doses, []))
        items.append(engine.Item(herb=line.herb, grams=line.grams, instruction=line.instruction))
    return tuple(engine.OtherPrescription(number, doses, tuple(items)) for number, doses, items in others.values())


def draft_for_audit(
    *, patient=None, pregnancy: str = "", weight_kg=None, doses: int, items: list[dict], facts=None, others=()
) -> dict:
    """A prescription in the audit interchange form (the `manage.py audit_check` JSON): the
    patient's facts (`facts`, or read from the registered `patient`), the rows, and the patient's
    other active prescriptions when given."""
    if facts is None:
        facts = ClinicalFacts(
            sex=patient.sex,
            age_years=age_years(patient),
            pregnancy=pregnancy or "",
            weight_kg=None if weight_kg in (None, "") else weight_kg,
            allergies=tuple(allergy_names(patient)),
        )
    draft = {
        "patient": facts.as_draft(),
        "doses": doses,
        "items": [
            {"herb": i["herb"], "grams": str(i["grams"]), "instruction": i.get("instruction", "")} for i in items
        ],
    }
    if others:
        draft["others"] = list(others)
    return draft


def prescription_precheck(
    *, actor, form: PrescriptionForm, patient=None, facts: dict | None = None, allergies=()
) -> dict:
    """The findings and price for a draft, nothing saved: the editor's live warnings, and a
    hospital system's "is this safe?". The patient is either a registered `patient` (whose other
    active prescriptions of the last 7 days join the check) or only the clinical `facts`
    {sex, age_years or date_of_birth} — no name, no mobile. `allergies` are herb names added to
    the patient's. Only the rows, doses, pregnancy and weight matter; the rest is checked on submit.

    Raises ValidationError with field paths (`items[2].grams`, `consult.pregnancy`,
    `patient.age_years`, `consult.weight_kg`, `allergies[0]`), every field's errors together."""
    ensure_capability(actor, "prescribe")
    errors, items = {}, []
    try:
        items = clean_items(form.items or [])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    doses = 1 if form.doses in (None, "") else whole_number(form.doses) or 0
    if not 1 <= doses <= MAX_DOSES:
        errors["doses"] = [_("Doses must be between 1 and 60.")]
    consult = form.consult or {}
    try:
        if patient is not None:
            checked = patient_facts(
                patient,
                pregnancy=consult.get("pregnancy"),
                weight_kg=consult.get("weight_kg"),
                allergy_names_given=allergies,
            )
        else:
            checked = _facts_given(facts or {}, consult=consult, allergies=allergies)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    decoction = form.decoction if form.decoction in Decoction.values else Decoction.CENTER
    delivery = form.delivery if form.delivery in DeliveryMode.values else DeliveryMode.ADDRESS
    rules = live_snapshot()
    others = other_prescriptions(patient, rules=rules, herbs=[item.name for item in items]) if patient else ()
    draft = draft_for_audit(facts=checked, doses=doses, items=[item.as_draft() for item in items])
    return {
        "findings": check_draft(draft, rules, others).findings,
        "price": price_quote(items=items, doses=doses, decoction=decoction, delivery=delivery),
    }


def _facts_given(facts: dict, *, consult: dict, allergies) -> ClinicalFacts:
    """The facts of a patient who is not registered (a hospital system's precheck)."""
    age = facts.get("age_years")
    born = facts.get("date_of_birth")
    errors = {}
    if facts.get("sex") not in ("M", "F"):
        errors["patient.sex"] = [_("Give the sex (M or F).")]
    if age is None and born is None:
        errors["patient.age_years"] = [_("Give the age in years or the date of birth.")]
    elif age is None and born > timezone.localdate():
        errors["patient.date_of_birth"] = [_("The date of birth cannot be in the future.")]
    if errors:
        raise ValidationError(errors)
    return clean_facts(
        sex=facts["sex"],
        age_years=age if age is not None else years_since(born),
        pregnancy=consult.get("pregnancy"),
        weight_kg=consult.get("weight_kg"),
        allergy_names=allergies,
    )
