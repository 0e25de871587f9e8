"""The checks of a prescription form before anything is written: the herb rows, the header, the
price, and the prescriber's second signature for block-level findings. Errors carry field paths
such as `items[3].grams`."""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from catalogue.models import SpecialDecoction
from catalogue.selectors import herb_resolve_many, herb_suggest
from patients.models import Pregnancy

from ..workflow import Decoction, DeliveryMode

MAX_GRAMS = Decimal(500)
MAX_DOSES = 60
MAX_ITEMS = 40
MAX_HERB_NAME = 20
# Finding codes that are refused outright instead of being signed for.
REFUSED_CODES = {"catalog.unknown", "herb.inactive"}
INSTRUCTION_LABELS = {label: value for value, label in SpecialDecoction.choices if value}


def finding_key(finding: dict) -> str:
    return f"{finding['code']}:{'+'.join(finding['herbs'])}"


def normalise_instruction(value) -> str:
    value = str(value or "").strip()
    return INSTRUCTION_LABELS.get(value, value)


def clean_items(raw_items) -> list[dict]:
    """Resolve and check the herb rows; errors are keyed `items[3].grams` etc."""
    errors: dict[str, list] = {}
    if not raw_items:
        raise ValidationError({"items": [_("Add at least one herb.")]})
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError({"items": [_("A prescription has at most %(n)d herbs.") % {"n": MAX_ITEMS}]})
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
            message = _("“%(name)s” is not in the herb catalogue.") % {"name": name}
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
        cleaned.append({"herb": name, "herb_obj": herb, "grams": grams, "instruction": instruction})
    if errors:
        raise ValidationError(errors)
    return cleaned


def price_quote(*, items: list[dict], doses: int, decoction: str, delivery: str) -> dict:
    """Catalogue price × grams × doses per herb, plus decoction and delivery fees."""
    lines = []
    for item in items:
        price = item["herb_obj"].price_per_g or Decimal(0)
        lines.append((price * item["grams"] * doses).quantize(Decimal("0.01")))
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


def check_signature(*, actor, findings: list[dict], signature: dict | None) -> dict:
    """Block-level findings need the prescriber's second signature: the password again and a
    reason for each finding (《中药处方格式及书写规范》: 配伍禁忌/超剂量须重新签名)."""
    blocking = [f for f in findings if f["severity"] == "block" and f["code"] not in REFUSED_CODES]
    if not blocking:
        return {}
    signature = signature or {}
    errors = {}
    if not signature.get("password") or not actor.check_password(str(signature["password"])):
        errors["double_signature.password"] = [
            _("This prescription has block-level findings: sign again with your password.")
        ]
    reasons = signature.get("reasons") or {}
    missing = [f for f in blocking if not str(reasons.get(finding_key(f), "")).strip()]
    for finding in missing:
        errors.setdefault("double_signature.reasons", []).append(
            _("Give a reason for: %(message)s") % {"message": finding["message"]}
        )
    if errors:
        raise ValidationError(errors)
    return {
        "signed_by": actor.pk,
        "signed_by_name": str(actor),
        "signed_at": timezone.now().isoformat(),
        "findings": [{**f, "reason": str(reasons[finding_key(f)]).strip()[:300]} for f in blocking],
    }


def clean_header(values: dict) -> dict:
    errors = {}
    try:
        doses = int(values.get("doses") or 0)
    except (TypeError, ValueError):
        doses = 0
    if not 1 <= doses <= MAX_DOSES:
        errors["doses"] = [_("Doses must be between 1 and 60.")]
    consult = values.get("consult") or {}
    if not str(consult.get("tcm_disease", "")).strip():
        errors["consult.tcm_disease"] = [_("A TCM diagnosis (disease) is required.")]
    usage = str(values.get("usage", "")).strip()
    if not usage:
        errors["usage"] = [_("Write how to take it, e.g. 每日1剂，水煎分2次温服.")]
    decoction = values.get("decoction") or Decoction.CENTER
    if decoction not in Decoction.values:
        errors["decoction"] = [_("Choose centre or self decoction.")]
    delivery = values.get("delivery") or DeliveryMode.ADDRESS
    if delivery not in DeliveryMode.values:
        errors["delivery"] = [_("Choose delivery or pickup.")]
    address = str(values.get("delivery_address", "")).strip()
    if delivery == DeliveryMode.ADDRESS and not address:
        errors["delivery_address"] = [_("A delivery address is required.")]
    pregnancy = consult.get("pregnancy") or Pregnancy.UNKNOWN
    if pregnancy not in Pregnancy.values:
        errors["consult.pregnancy"] = [_("Unknown pregnancy status.")]
    if errors:
        raise ValidationError(errors)
    return {
        "doses": doses,
        "usage": usage[:200],
        "decoction": decoction,
        "delivery": delivery,
        "delivery_address": address[:200],
        "consult": {**consult, "pregnancy": pregnancy},
    }
