"""One row at a time: turn a herb or formula row into the values stored, or raise RowError."""

import re
from decimal import Decimal, InvalidOperation

from ..models import AliasKind, Confidence, IncompatibilityKind, PregnancyLevel, SpecialDecoction, Toxicity
from ..pinyin import compact, initials_of

# Chinese labels in the files -> stored codes.
TOXICITY = {label: value for value, label in Toxicity.choices if value}
SPECIAL = {label: value for value, label in SpecialDecoction.choices if value}
PREGNANCY = {label: value for value, label in PregnancyLevel.choices if value}
RULE_KIND = {label: value for value, label in IncompatibilityKind.choices}
CONFIDENCE = set(Confidence.values)
BOOLEAN = {"true": True, "false": False}
ALIAS_KIND = set(AliasKind.values)


class RowError(ValueError):
    pass


def parse_decimal(value: str, column: str) -> Decimal | None:
    if value == "":
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowError(f"{column} {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise RowError(f"{column} {value!r} must be a positive number")
    return number


def choice(value: str, mapping: dict, column: str):
    if value == "":
        return ""
    if value not in mapping:
        raise RowError(f"{column} {value!r} is not one of {'/'.join(mapping)}")
    return mapping[value]


def parse_herb(row: dict, *, supplementary: bool) -> dict:
    name = row["name"]
    if not name or len(name) > 20:
        raise RowError("name is empty or longer than 20 characters")
    pinyin = " ".join(row["pinyin"].lower().split())
    if not pinyin or not all(syllable.isascii() and syllable.isalpha() for syllable in pinyin.split()):
        raise RowError(f"pinyin {row['pinyin']!r} must be lower-case syllables separated by spaces")
    if len(pinyin.split()) != len(name):
        raise RowError(f"pinyin {pinyin!r} has {len(pinyin.split())} syllables for {len(name)} characters")
    if row["initials"] != initials_of(pinyin):
        raise RowError(f"initials {row['initials']!r} do not match pinyin {pinyin!r}")
    dose_min = parse_decimal(row["dose_min_g"], "dose_min_g")
    dose_max = parse_decimal(row["dose_max_g"], "dose_max_g")
    if (dose_min is None) != (dose_max is None):
        raise RowError("dose_min_g and dose_max_g must both be given or both be empty")
    if dose_min is not None and dose_min > dose_max:
        raise RowError(f"dose_min_g {dose_min} is above dose_max_g {dose_max}")
    if row["confidence"] not in CONFIDENCE:
        raise RowError(f"confidence {row['confidence']!r} is not one of high/medium/low")
    if row["external_only"] not in BOOLEAN:
        raise RowError(f"external_only {row['external_only']!r} must be true or false")
    values = {
        "name": name,
        "pinyin": pinyin,
        "pinyin_compact": compact(pinyin),
        "initials": row["initials"],
        "base_herb": row["base_herb"] or name,
        "category": row["category"],
        "dose_min_g": dose_min,
        "dose_max_g": dose_max,
        "toxicity": choice(row["toxicity"], TOXICITY, "toxicity"),
        "special_decoction": choice(row["special_decoction"], SPECIAL, "special_decoction"),
        "pregnancy": choice(row["pregnancy"], PREGNANCY, "pregnancy"),
        "external_only": BOOLEAN[row["external_only"]],
        "incompatible_with": row["incompatible_with"][:200],
        "in_pharmacopoeia": not supplementary,
        "source": row["source"],
        "confidence": row["confidence"],
        "notes": row["notes"],
    }
    if supplementary:
        if row["active"] not in BOOLEAN:
            raise RowError(f"active {row['active']!r} must be true or false")
        values["active"] = BOOLEAN[row["active"]]
    return values


def split_names(value: str) -> list[str]:
    return [name.strip() for name in value.split("|") if name.strip()]


GRAMS = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$")
COUNTED = re.compile(r"^\d+(?:枚|片|只|条|个|茎)(?:\((\d+(?:\.\d+)?)g\))?$")


def _formula_grams(entry: str, amount: str) -> tuple[Decimal | None, str]:
    """(grams or None for a count without grams, the count as written or "") of one amount."""
    grams_match, counted = GRAMS.match(amount), COUNTED.match(amount)
    if grams_match:
        low, high = grams_match.groups()
        return (Decimal(low) if high is None else (Decimal(low) + Decimal(high)) / 2), ""
    if counted:
        return (Decimal(counted.group(1)) if counted.group(1) else None), amount
    raise RowError(f"composition item {entry!r}: unknown amount {amount!r}")


def parse_formula(row: dict, resolve, dose_min=lambda name: None) -> dict:
    """A classical formula: `herb:grams|…` (grams, a range, or a count such as 3枚 / 10枚(12g)).

    A count the textbook gives no grams for (大枣 3枚, 生姜 3片) is converted to the herb's
    `dose_min(name)`: the lower bound of its 中国药典 2020 daily dose (6 g for 大枣), the one
    sourced figure there is; no per-piece weight is invented. The item keeps the amount as written
    and the formula's note names each conversion, for the clinician to check. Herbs the catalogue
    does not hold (粳米, 梨皮), and counts of a herb with no pharmacopoeia dose, are left out and
    named in the note, for the clinician to add by hand."""
    if not row["name"] or not row["composition"]:
        raise RowError("name and composition are required")
    special = {}
    for entry in filter(None, row["special"].split("|")):
        herb, _, label = entry.partition(":")
        special[herb.strip()] = SPECIAL.get(label.strip(), "")
    items, left_out, converted = [], [], []
    for entry in row["composition"].split("|"):
        herb, sep, amount = entry.partition(":")
        herb, amount = herb.strip(), amount.strip()
        if not sep or not herb or not amount:
            raise RowError(f"composition item {entry!r} is not herb:amount")
        grams, written = _formula_grams(entry, amount)
        name = resolve(herb)
        if name is not None and grams is None and dose_min(name):
            grams = Decimal(dose_min(name))
            converted.append(f"{herb} {amount}→{grams.normalize():f}g")
        if name is None or grams is None:
            left_out.append(f"{herb} {amount}")
            continue
        item = {"herb": name, "grams": f"{grams.normalize():f}", "instruction": special.get(herb, "")}
        items.append(item | ({"written_amount": written} if written else {}))
    notes = []
    if converted:
        notes.append(f"以枚/片计者按药典2020一日用量下限折算，请核对：{'、'.join(converted)}")
    if left_out:
        notes.append(f"未列入（请按需手工添加）：{'、'.join(left_out)}")
    note = "。".join(notes)
    return {
        "name": row["name"][:50],
        "pinyin": row["pinyin"],
        "items": items,
        "usage": row["usage"][:200],
        "indications": row["indications"][:300],
        "source": f"{row['origin']}；{row['source']}"[:300],
        "note": note,
    }
