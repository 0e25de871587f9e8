"""The suggestions a card offers the EHR, each a change to the draft orders the clinician can
accept with one click: write the decoction method a herb must have (附子 → 先煎), lower a dose
over the 药典's upper limit to that limit, or remove one herb of a 十八反/十九畏 pair. Other
findings offer none: what to do is the clinician's judgement (the card's text says it).

An update holds the whole MedicationRequest as the EHR sent it with the one change; a removal is
a delete of `MedicationRequest/<id>`. Pure: no database access (the rules are the snapshot the
findings came from)."""

import copy
import uuid

from django.utils.translation import gettext as _

from rules.engine import LABEL_TO_SPECIAL, SPECIAL_LABELS, HerbRule, RuleSnapshot

from .codes import UCUM, code_system
from .parsing import OrderLine

METHOD_CODES = ("decoction.instruction_missing", "decoction.instruction_wrong")
PAIR_CODES = ("incompatibility.eighteen", "incompatibility.nineteen")
HAZARD = {"high": 3, "toxic": 2, "slight": 1}


def suggestions_for(finding: dict, lines: tuple, rules: RuleSnapshot) -> list[dict]:
    """The suggestions for one finding (a dict of rules.engine.Finding.as_dict), [] when it has
    none. At most one is recommended (`isRecommended`), and the EHR applies at most one."""
    code, herbs = finding["code"], finding["herbs"]
    if code in METHOD_CODES and herbs:
        return _method(herbs[0], lines, rules)
    if code == "dose.over_max" and herbs:
        return _lower_dose(herbs[0], lines, rules)
    if code in PAIR_CODES and len(herbs) == 2:
        return _remove_one(herbs, lines, rules)
    return []


def _named(lines: tuple, herb: str) -> list[OrderLine]:
    """The lines of a herb as the finding names it (the name the engine read)."""
    return [line for line in lines if line.herb == herb]


def _suggestion(label: str, actions: list[dict], *, recommended: bool = True) -> dict:
    return {"label": label, "uuid": str(uuid.uuid4()), "isRecommended": recommended, "actions": actions}


def _method(herb: str, lines: tuple, rules: RuleSnapshot) -> list[dict]:
    rule = rules.resolve(herb)
    method = rule.special if rule is not None else ""
    named = _named(lines, herb)
    if method not in SPECIAL_LABELS or not named:
        return []
    label = SPECIAL_LABELS[method]
    actions = [
        {
            "type": "update",
            "description": _("Write the decoction method “%(method)s” for %(herb)s.") % {"method": label, "herb": herb},
            "resource": with_method(line.resource, method),
        }
        for line in named
    ]
    return [_suggestion(_("Write “%(method)s” for %(herb)s") % {"method": label, "herb": herb}, actions)]


def with_method(resource: dict, method: str) -> dict:
    """The MedicationRequest with `method` as its one decoction method: any instruction that
    names another method (coded, or in words) is replaced; other instructions stay."""
    updated = copy.deepcopy(resource)
    dosages = updated.get("dosageInstruction") or [{}]
    dosage = dosages[0]
    kept = [concept for concept in dosage.get("additionalInstruction") or () if not _names_a_method(concept)]
    label = SPECIAL_LABELS[method]
    kept.append(
        {"coding": [{"system": code_system("special-decoction"), "code": method, "display": label}], "text": label}
    )
    dosage["additionalInstruction"] = kept
    updated["dosageInstruction"] = [dosage, *dosages[1:]]
    return updated


def _names_a_method(concept: dict) -> bool:
    system = code_system("special-decoction")
    if any(isinstance(c, dict) and c.get("system") == system for c in concept.get("coding") or ()):
        return True
    text = concept.get("text")
    return isinstance(text, str) and any(label in text for label in LABEL_TO_SPECIAL)


def _lower_dose(herb: str, lines: tuple, rules: RuleSnapshot) -> list[dict]:
    rule = rules.resolve(herb)
    limit = rule.dose_max if rule is not None else None
    over = [line for line in _named(lines, herb) if limit is not None and line.grams is not None and line.grams > limit]
    if not over:
        return []
    grams = f"{limit.normalize():f}"
    actions = [
        {
            "type": "update",
            "description": _("Lower %(herb)s to %(grams)s g per dose.") % {"herb": herb, "grams": grams},
            "resource": with_grams(line.resource, limit),
        }
        for line in over
    ]
    label = _("Lower %(herb)s to %(grams)s g, the upper limit") % {"herb": herb, "grams": grams}
    return [_suggestion(label, actions)]


def with_grams(resource: dict, grams) -> dict:
    """The MedicationRequest with `grams` per dose in its first dose quantity."""
    updated = copy.deepcopy(resource)
    quantity = updated["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    quantity.update({"value": int(grams) if grams == int(grams) else float(grams), "unit": "g"})
    quantity.update({"system": UCUM, "code": "g"})
    return updated


def _remove_one(herbs: list, lines: tuple, rules: RuleSnapshot) -> list[dict]:
    """Two suggestions, "remove A" and "remove B"; the more toxic herb's removal is recommended
    (on a tie, the herb written later: the one just added)."""
    named = [(herb, _named(lines, herb)) for herb in herbs]
    if not all(found for _herb, found in named):
        return []
    order = {line.reference: index for index, line in enumerate(lines)}

    def hazard(pair):
        herb, found = pair
        return (_hazard(rules.resolve(herb)), max(order[line.reference] for line in found))

    recommended = max(named, key=hazard)[0]
    suggestions = []
    for herb, found in named:
        actions = [
            {
                "type": "delete",
                "description": _("Remove %(herb)s from the draft order.") % {"herb": herb},
                "resourceId": line.reference,
            }
            for line in found
        ]
        suggestions.append(_suggestion(_("Remove %(herb)s") % {"herb": herb}, actions, recommended=herb == recommended))
    return suggestions


def _hazard(rule: HerbRule | None) -> int:
    if rule is None:
        return 0
    return 3 if rule.toxic_listed else HAZARD.get(rule.toxicity, 0)
