"""The checks of a prescription form before anything is written: the herb rows, the header, the
price, and the prescriber's second signature for block-level findings. Errors carry field paths
such as `items[3].grams`."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import password_confirm
from catalogue.models import SpecialDecoction
from catalogue.selectors import herb_resolve_many, herb_suggest
from core.input import echo, whole_number
from patients.models import Pregnancy

from ..exceptions import SignatureRefused
from ..workflow import Decoction, DeliveryMode

MAX_GRAMS = Decimal(500)
MAX_DOSES = 60
MAX_ITEMS = 40
MAX_HERB_NAME = 20
MAX_AGE_YEARS = Decimal(130)
MAX_WEIGHT_KG = Decimal(300)
# Finding codes that are refused outright instead of being signed for.
REFUSED_CODES = {"catalog.unknown", "herb.inactive"}
INSTRUCTION_LABELS = {label: value for value, label in SpecialDecoction.choices if value}


@dataclass(frozen=True)
class PrescriptionForm:
    """A prescription as a clinician's editor or a hospital system sends it, not yet checked: the
    submit services take this, check every field and report errors at its path (`items[3].grams`,
    `consult.tcm_disease`)."""

    items: tuple = ()
    doses: object = None
    usage: object = ""
    decoction: object = ""
    delivery: object = ""
    delivery_address: object = ""
    consult: Mapping = field(default_factory=dict)
    notes: object = ""
    urgent: bool = False
    formula: object = None  # the id of the formula the clinician started from
    double_signature: Mapping | None = None  # {"password", "reasons": {finding key: reason}}
    idempotency_key: str = ""

    @classmethod
    def of(cls, values: Mapping) -> "PrescriptionForm":
        """From form or JSON values or a serializer's validated data; other keys are left out."""
        names = {f.name for f in fields(cls)}
        given = {key: value for key, value in values.items() if key in names and value is not None}
        if isinstance(given.get("items"), list):
            given["items"] = tuple(given["items"])
        if not isinstance(given.get("consult", {}), Mapping):
            given["consult"] = {}
        return cls(**given)


@dataclass(frozen=True)
class Line:
    """A checked herb row: the name as written, the catalogue herb it resolved to, grams per dose."""

    name: str
    herb: object  # catalogue.models.Herb
    grams: Decimal
    instruction: str

    def as_draft(self) -> dict:
        return {"herb": self.name, "grams": self.grams, "instruction": self.instruction}


@dataclass(frozen=True)
class Header:
    """The checked header of a prescription."""

    doses: int
    usage: str
    decoction: str
    delivery: str
    delivery_address: str
    consult: dict


@dataclass(frozen=True)
class ClinicalFacts:
    """What the rules need to know about a patient, and nothing that identifies them: sex, age,
    pregnancy, weight and herb allergies (catalogue names)."""

    sex: str
    age_years: Decimal | None
    pregnancy: str
    weight_kg: Decimal | None = None
    allergies: tuple = ()

    def as_draft(self) -> dict:
        """The `patient` of the audit interchange form."""
        return {
            "sex": self.sex,
            "age_years": None if self.age_years is None else str(self.age_years),
            "pregnant": self.pregnancy == Pregnancy.YES,
            "allergies": list(self.allergies),
            "weight_kg": None if self.weight_kg is None else str(self.weight_kg),
        }


def clean_facts(*, sex: str, age_years, pregnancy, weight_kg, allergy_names=(), known_allergies=()) -> ClinicalFacts:
    """Check the clinical facts that cannot be right together: a pregnant male
    (`consult.pregnancy`), an age outside 0–130 (`patient.age_years`), a weight of 0 or over
    300 kg (`consult.weight_kg`), an allergy name that is no catalogue herb or alias
    (`allergies[0]`, never matched by substring). Raises ValidationError with those paths."""
    errors: dict[str, list] = {}
    pregnancy = pregnancy or Pregnancy.UNKNOWN
    if pregnancy not in Pregnancy.values:
        errors["consult.pregnancy"] = [_("Unknown pregnancy status.")]
    elif pregnancy == Pregnancy.YES and sex == "M":
        errors["consult.pregnancy"] = [_("A male patient cannot be pregnant: check the sex or the pregnancy status.")]
    if age_years is not None and not Decimal(0) <= Decimal(age_years) <= MAX_AGE_YEARS:
        errors["patient.age_years"] = [_("An age must be between 0 and 130 years.")]
    weight = _weight(weight_kg)
    if weight is False:
        errors["consult.weight_kg"] = [_("Enter the weight in kg, more than 0 and at most 300.")]
    names = [str(name).strip() for name in (allergy_names or ())]
    resolved = herb_resolve_many(names)
    for index, name in enumerate(names):
        if name not in resolved:
            errors[f"allergies[{index}]"] = [
                _("“%(name)s” is not a herb in the catalogue: write its catalogue name or a known alias.")
                % {"name": echo(name, MAX_HERB_NAME)}
            ]
    if errors:
        raise ValidationError(errors)
    allergies = dict.fromkeys([*known_allergies, *(resolved[name].name for name in names)])
    return ClinicalFacts(
        sex=sex or "",
        age_years=None if age_years is None else Decimal(age_years),
        pregnancy=pregnancy,
        weight_kg=weight,
        allergies=tuple(allergies),
    )


def _weight(value):
    """The weight in kg, None when not given, False when it cannot be right."""
    if value in (None, ""):
        return None
    try:
        weight = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    if not weight.is_finite() or not Decimal(0) < weight <= MAX_WEIGHT_KG:
        return False
    return weight


def finding_key(finding: dict) -> str:
    return f"{finding['code']}:{'+'.join(finding['herbs'])}"


def normalise_instruction(value) -> str:
    value = str(value or "").strip()
    return INSTRUCTION_LABELS.get(value, value)


def clean_items(raw_items) -> list[Line]:
    """Resolve and check the herb rows; errors are keyed `items[3].grams` etc."""
    errors: dict[str, list] = {}
    if not raw_items:
        raise ValidationError({"items": [_("Add at least one herb.")]})
    if not isinstance(raw_items, (list, tuple)):
        raise ValidationError({"items": [_("Send the herbs as a list.")]})
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError({"items": [_("A prescription has at most %(n)d herbs.") % {"n": MAX_ITEMS}]})
    raw_items = [raw if isinstance(raw, Mapping) else {} for raw in raw_items]
    cleaned, seen = [], {}
    resolved = herb_resolve_many(str(raw.get("herb", "")) for raw in raw_items)
    for index, raw in enumerate(raw_items):
        path = f"items[{index}]"
        name = str(raw.get("herb", "")).strip()
        herb = resolved.get(name)
        if not name:
            errors.setdefault(f"{path}.herb", []).append(_("Choose a herb."))
        elif herb is None:
            suggestions = herb_suggest(name) if len(name) <= MAX_HERB_NAME else []
            message = _("“%(name)s” is not in the herb catalogue.") % {"name": echo(name, MAX_HERB_NAME)}
            if suggestions:
                message += " " + _("Did you mean: %(names)s?") % {"names": "、".join(suggestions)}
            errors.setdefault(f"{path}.herb", []).append(message)
        elif not herb.active:
            errors.setdefault(f"{path}.herb", []).append(
                _("%(name)s is not dispensed (inactive in the catalogue).") % {"name": name}
            )
        elif herb.pk in seen:
            errors.setdefault(f"{path}.herb", []).append(
                _("%(name)s is already in row %(row)d.") % {"name": name, "row": seen[herb.pk] + 1}
            )
        try:
            grams = Decimal(str(raw.get("grams", "")))
            if not grams.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.setdefault(f"{path}.grams", []).append(_("Enter the grams as a number."))
            grams = None
        else:
            if grams <= 0 or grams > MAX_GRAMS:
                errors.setdefault(f"{path}.grams", []).append(_("Grams must be more than 0 and at most 500."))
            elif grams != grams.quantize(Decimal("0.01")):
                errors.setdefault(f"{path}.grams", []).append(_("Use at most two decimals."))
        instruction = normalise_instruction(raw.get("instruction", ""))
        if instruction and instruction not in SpecialDecoction.values:
            errors.setdefault(f"{path}.instruction", []).append(_("Unknown decoction instruction."))
        if herb is not None and herb.pk not in seen:
            seen[herb.pk] = index
        cleaned.append(Line(name=name, herb=herb, grams=grams, instruction=instruction))
    if errors:
        raise ValidationError(errors)
    return cleaned


def price_quote(*, items: list[Line], doses: int, decoction: str, delivery: str) -> dict:
    """Catalogue price × grams × doses per herb, plus decoction and delivery fees."""
    lines = []
    for item in items:
        price = item.herb.price_per_g or Decimal(0)
        lines.append((price * item.grams * doses).quantize(Decimal("0.01")))
    herb_total = sum(lines, Decimal(0))
    decoction_fee = settings.TCM_DECOCTION_FEE_PER_DOSE * doses if decoction == Decoction.CENTER else Decimal(0)
    delivery_fee = settings.TCM_DELIVERY_FEE if delivery == DeliveryMode.ADDRESS else Decimal(0)
    return {
        "lines": lines,
        "herb_total": herb_total,
        "decoction_fee": decoction_fee,
        "delivery_fee": delivery_fee,
        "total": herb_total + decoction_fee + delivery_fee,
    }


def check_signature(*, actor, findings: list[dict], signature: dict | None, request=None) -> dict:
    """Block-level findings need the prescriber's second signature: the password again and a
    reason for each finding (《中药处方格式及书写规范》: 配伍禁忌/超剂量须重新签名).

    The password is checked as the sign-in checks it (accounts.services.password_confirm: refused
    while the user is locked out, a wrong one logged). A refusal (SignatureRefused) asks for the
    password again whatever was wrong, so it never tells a right password from a wrong one; a
    wrong one is to be counted towards the lockout once the submit has rolled back. A missing
    reason is reported at `double_signature.reasons[<finding key>]`, one path per finding."""
    blocking = [f for f in findings if f["severity"] == "block" and f["code"] not in REFUSED_CODES]
    if not blocking:
        return {}
    signature = signature or {}
    password = str(signature.get("password") or "")
    answer = password_confirm(user=actor, password=password, request=request) if password else "none"
    reasons = signature.get("reasons") or {}
    missing = [f for f in blocking if not str(reasons.get(finding_key(f), "")).strip()]
    if answer != "right" or missing:
        errors = {
            "double_signature.password": [
                _("Too many wrong passwords: you cannot sign for now. Try again later.")
                if answer == "locked"
                else _("This prescription has block-level findings: sign again with your password.")
            ]
        }
        for finding in missing:  # at the finding's own path: the editor shows it beside that finding
            errors[f"double_signature.reasons[{finding_key(finding)}]"] = [
                _("Give a reason for: %(message)s") % {"message": finding["message"]}
            ]
        raise SignatureRefused(errors, wrong_password=answer == "wrong")
    return {
        "signed_by": actor.pk,
        "signed_by_name": str(actor),
        "signed_at": timezone.now().isoformat(),
        "findings": [{**f, "reason": str(reasons[finding_key(f)]).strip()[:300]} for f in blocking],
    }


def clean_header(form: PrescriptionForm) -> Header:
    errors = {}
    doses = whole_number(form.doses) or 0
    if not 1 <= doses <= MAX_DOSES:
        errors["doses"] = [_("Doses must be between 1 and 60.")]
    consult = dict(form.consult or {})
    if not str(consult.get("tcm_disease", "")).strip():
        errors["consult.tcm_disease"] = [_("A TCM diagnosis (disease) is required.")]
    usage = str(form.usage or "").strip()
    if not usage:
        errors["usage"] = [_("Write how to take it, e.g. 每日1剂，水煎分2次温服.")]
    decoction = form.decoction or Decoction.CENTER
    if decoction not in Decoction.values:
        errors["decoction"] = [_("Choose centre or self decoction.")]
    delivery = form.delivery or DeliveryMode.ADDRESS
    if delivery not in DeliveryMode.values:
        errors["delivery"] = [_("Choose delivery or pickup.")]
    address = str(form.delivery_address or "").strip()
    if delivery == DeliveryMode.ADDRESS and not address:
        errors["delivery_address"] = [_("A delivery address is required.")]
    pregnancy = consult.get("pregnancy") or Pregnancy.UNKNOWN
    if pregnancy not in Pregnancy.values:
        errors["consult.pregnancy"] = [_("Unknown pregnancy status.")]
    if errors:
        raise ValidationError(errors)
    return Header(
        doses=doses,
        usage=usage[:200],
        decoction=decoction,
        delivery=delivery,
        delivery_address=address[:200],
        consult={**consult, "pregnancy": pregnancy},
    )
