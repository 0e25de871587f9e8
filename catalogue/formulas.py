"""Formulas a clinician can start from: reads and writes (classical ones come from the importer)."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.permissions import ensure_capability, institution_ids_visible_to

from .models import Formula, FormulaKind, SpecialDecoction
from .pinyin import guess_pinyin, initials_of
from .selectors import herb_resolve


def ancestor_ids(institution) -> list[int]:
    ids = []
    while institution is not None:
        ids.append(institution.pk)
        institution = institution.parent
    return ids


def formulas_for(user) -> QuerySet:
    """Active classical formulas, the agreed formulas of the user's institution and those above
    it, and the user's own formulas."""
    if not user.is_authenticated:
        return Formula.objects.none()
    condition = Q(kind=FormulaKind.CLASSICAL)
    if user.institution_id:
        condition |= Q(kind=FormulaKind.AGREED, institution_id__in=ancestor_ids(user.institution))
    condition |= Q(kind=FormulaKind.PERSONAL, owner=user)
    return Formula.objects.filter(condition, active=True).select_related("institution")


def clean_formula_items(items) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": [_("Add at least one herb.")]})
    cleaned, errors = [], {}
    for index, item in enumerate(items):
        name = str(item.get("herb", "")).strip() if isinstance(item, dict) else ""
        herb = herb_resolve(name) if name else None
        if herb is None or not herb.active:
            errors[f"items[{index}].herb"] = [_("“%(name)s” is not in the herb catalogue.") % {"name": name}]
            continue
        try:
            grams = Decimal(str(item.get("grams", "")))
        except InvalidOperation:
            grams = Decimal(0)
        if not grams.is_finite() or grams <= 0 or grams > 500:
            errors[f"items[{index}].grams"] = [_("Grams must be more than 0 and at most 500.")]
            continue
        instruction = str(item.get("instruction", "") or "")
        if instruction and instruction not in SpecialDecoction.values:
            errors[f"items[{index}].instruction"] = [_("Unknown decoction instruction.")]
            continue
        cleaned.append({"herb": name, "grams": f"{grams.normalize():f}", "instruction": instruction})
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def formula_save_personal(*, actor, name: str, items, usage: str = "") -> Formula:
    """Save (or overwrite) one of the clinician's own formulas."""
    ensure_capability(actor, "prescribe")
    name = name.strip()[:50]
    if not name:
        raise ValidationError({"name": [_("Give the formula a name.")]})
    formula, _created = Formula.objects.update_or_create(
        kind=FormulaKind.PERSONAL,
        owner=actor,
        name=name,
        defaults={
            "items": clean_formula_items(items),
            "usage": usage[:200],
            "created_by": actor,
            "active": True,
            "pinyin_initials": initials_of(guess_pinyin(name)),
        },
    )
    return formula


@transaction.atomic
def formula_save_agreed(*, actor, institution, name: str, items, usage: str = "", indications: str = "") -> Formula:
    """Publish a new version of an institution's agreed formula; earlier versions stay on record
    (prescriptions name the version they came from) but are no longer offered. Any
    administrator within whose subtree the institution is may (manage_agreed_formulas): an
    institution's own formulas are not a county-wide list."""
    ensure_capability(actor, "manage_agreed_formulas")
    visible = institution_ids_visible_to(actor)
    if visible is not None and institution.pk not in visible:
        raise ValidationError({"institution": [_("You cannot manage this institution's formulas.")]})
    name = name.strip()[:50]
    if not name:
        raise ValidationError({"name": [_("Give the formula a name.")]})
    cleaned = clean_formula_items(items)
    versions = Formula.objects.select_for_update().filter(kind=FormulaKind.AGREED, institution=institution, name=name)
    last = versions.order_by("-version").first()
    versions.update(active=False)
    return Formula.objects.create(
        kind=FormulaKind.AGREED,
        institution=institution,
        name=name,
        version=(last.version + 1) if last else 1,
        items=cleaned,
        usage=usage[:200],
        indications=indications[:300],
        created_by=actor,
        pinyin_initials=initials_of(guess_pinyin(name)),
    )


def formula_label(formula: Formula) -> str:
    """How a prescription records where it started: kind, name and, for agreed formulas, version."""
    return f"{formula.get_kind_display()}：{formula}"[:100]
