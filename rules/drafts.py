"""The audit interchange form (used by `manage.py audit_check`, the submit check and the live
warnings) parsed into engine objects, with clear errors for malformed input.

Only malformed types are refused here (DraftError, with the path). A well-formed value that
cannot be right — 0 g, doses 0, age 200, a pregnant male — is the engine's `input.invalid`
finding, so that it is reported beside the other findings instead of hiding them."""

from decimal import Decimal, InvalidOperation

from .data import Item, OtherPrescription, PatientContext, PrescriptionDraft


class DraftError(ValueError):
    """Malformed input: the message names the path, e.g. items[2].grams."""


def _decimal(value, path, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise DraftError(f"{path}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DraftError(f"{path}: expected a number, got {value!r}") from None
    if not number.is_finite() or number.adjusted() > 6:
        # Beyond a million nothing is a dose, an age or a weight: refused here, so no rule has
        # to format or multiply a number with thousands of digits.
        raise DraftError(f"{path}: expected a finite number below a million, got {value!r}")
    return number


def parse_draft(data, path="") -> tuple[PrescriptionDraft, PatientContext]:
    """{"patient": {...}, "doses": 7, "items": [{"herb", "grams", "instruction"}], "others": [...]}
    → engine objects (`others` is optional)."""
    prefix = f"{path}." if path else ""
    if not isinstance(data, dict):
        raise DraftError(f"{path or 'input'}: expected an object")
    patient = data.get("patient", {}) or {}
    if not isinstance(patient, dict):
        raise DraftError(f"{prefix}patient: expected an object")
    sex = patient.get("sex", "") or ""
    if sex not in ("", "M", "F"):
        raise DraftError(f'{prefix}patient.sex: expected "M" or "F", got {sex!r}')
    pregnant = patient.get("pregnant", False)
    if not isinstance(pregnant, bool):
        raise DraftError(f"{prefix}patient.pregnant: expected true or false")
    allergies = patient.get("allergies", []) or []
    if not isinstance(allergies, list) or not all(isinstance(a, str) for a in allergies):
        raise DraftError(f"{prefix}patient.allergies: expected a list of herb names")
    context = PatientContext(
        sex=sex,
        age_years=_decimal(patient.get("age_years"), f"{prefix}patient.age_years", allow_none=True),
        pregnant=pregnant,
        allergies=tuple(allergies),
        weight_kg=_decimal(patient.get("weight_kg"), f"{prefix}patient.weight_kg", allow_none=True),
    )
    doses = data.get("doses", 1)
    if isinstance(doses, bool) or not isinstance(doses, int):
        raise DraftError(f"{prefix}doses: expected a whole number, got {doses!r}")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise DraftError(f"{prefix}items: expected a non-empty list")
    parsed = tuple(_item(item, f"{prefix}items[{index}]") for index, item in enumerate(items))
    others = _others(data.get("others"), f"{prefix}others")
    return PrescriptionDraft(doses=doses, items=parsed, others=others), context


def _item(item, item_path) -> Item:
    if not isinstance(item, dict):
        raise DraftError(f"{item_path}: expected an object")
    herb = item.get("herb")
    if not isinstance(herb, str) or not herb.strip():
        raise DraftError(f"{item_path}.herb: expected a herb name")
    grams = _decimal(item.get("grams"), f"{item_path}.grams")
    instruction = item.get("instruction", "") or ""
    if not isinstance(instruction, str):
        raise DraftError(f"{item_path}.instruction: expected text")
    return Item(herb=herb.strip(), grams=grams, instruction=instruction)


def _others(others, path) -> tuple:
    """The optional `others`: [{"number", "doses", "items": [...]}], the same patient's other
    active prescriptions (the cross-prescription rules read them)."""
    if others is None:
        return ()
    if not isinstance(others, list):
        raise DraftError(f"{path}: expected a list of prescriptions")
    parsed = []
    for index, other in enumerate(others):
        other_path = f"{path}[{index}]"
        if not isinstance(other, dict):
            raise DraftError(f"{other_path}: expected an object")
        number = other.get("number")
        if not isinstance(number, str) or not number.strip():
            raise DraftError(f"{other_path}.number: expected the prescription number")
        doses = other.get("doses", 1)
        if isinstance(doses, bool) or not isinstance(doses, int) or doses < 1:
            raise DraftError(f"{other_path}.doses: expected a whole number of at least 1, got {doses!r}")
        items = other.get("items")
        if not isinstance(items, list) or not items:
            raise DraftError(f"{other_path}.items: expected a non-empty list")
        lines = tuple(_item(item, f"{other_path}.items[{i}]") for i, item in enumerate(items))
        for i, line in enumerate(lines):
            if line.grams <= 0:  # the other prescriptions were checked when written: only sums here
                raise DraftError(f"{other_path}.items[{i}].grams: expected more than 0 g, got {line.grams}")
        parsed.append(OtherPrescription(number=number.strip(), doses=doses, items=lines))
    return tuple(parsed)
