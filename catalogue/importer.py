"""Load the herb catalogue and its rule lists from the CSV files that ship in catalogue/data/.

Every file is parsed and every name resolved before anything is written. A malformed row is
reported as `file:line: reason`, and then nothing is imported (the catalogue and its rules only
make sense together). A re-import updates the reference columns in place; price, active flag and
a pharmacist's verification stay, except that a herb whose reference values changed needs
verifying again.
"""

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from .models import (
    Confidence,
    Formula,
    FormulaKind,
    Herb,
    HerbAlias,
    IncompatibilityKind,
    IncompatibilityRule,
    PregnancyCaution,
    PregnancyLevel,
    SpecialDecoction,
    Toxicity,
    ToxicListEntry,
)
from .pinyin import compact, guess_pinyin, initials_of

DATA_DIR = Path(__file__).resolve().parent / "data"

HERB_COLUMNS = [
    "name",
    "pinyin",
    "initials",
    "base_herb",
    "category",
    "dose_min_g",
    "dose_max_g",
    "toxicity",
    "special_decoction",
    "pregnancy",
    "external_only",
    "incompatible_with",
    "source",
    "confidence",
    "notes",
]
FILES = {
    "herbs": ("reference/herbs/herbs.csv", HERB_COLUMNS),
    "supplementary": ("supplementary_herbs.csv", HERB_COLUMNS + ["active"]),
    "aliases": ("aliases.csv", ["alias", "herb", "source", "notes"]),
    "incompatibilities": ("reference/herbs/incompatibilities.csv", ["rule", "group_a", "group_b", "source", "notes"]),
    "toxic": ("reference/herbs/toxic.csv", ["name", "notes", "source"]),
    "pregnancy": ("reference/herbs/pregnancy.csv", ["name", "level", "source", "confidence", "notes"]),
    "formulas": (
        "reference/formulas/formulas.csv",
        [
            "name",
            "pinyin",
            "origin",
            "category",
            "composition",
            "special",
            "usage",
            "functions",
            "indications",
            "cautions",
            "source",
            "confidence",
            "notes",
        ],
    ),
}

# Chinese labels in the files -> stored codes.
TOXICITY = {label: value for value, label in Toxicity.choices if value}
SPECIAL = {label: value for value, label in SpecialDecoction.choices if value}
PREGNANCY = {label: value for value, label in PregnancyLevel.choices if value}
RULE_KIND = {label: value for value, label in IncompatibilityKind.choices}
CONFIDENCE = set(Confidence.values)
BOOLEAN = {"true": True, "false": False}

# Columns the reference files own; a change to any of them voids a pharmacist's verification.
REFERENCE_FIELDS = [
    "pinyin",
    "pinyin_compact",
    "initials",
    "base_herb",
    "category",
    "dose_min_g",
    "dose_max_g",
    "toxicity",
    "special_decoction",
    "pregnancy",
    "external_only",
    "incompatible_with",
    "in_pharmacopoeia",
    "source",
    "confidence",
    "notes",
]


class RowError(ValueError):
    pass


@dataclass
class ImportErrorReport(Exception):
    errors: list[str]

    def __str__(self):
        return "\n".join(self.errors)


@dataclass
class ImportSummary:
    herbs_created: int = 0
    herbs_updated: int = 0
    herbs_unverified: int = 0
    aliases: int = 0
    incompatibility_rules: int = 0
    toxic_entries: int = 0
    pregnancy_cautions: int = 0
    formulas: int = 0
    warnings: list[str] = field(default_factory=list)


def read_rows(path: Path, columns: list[str], label: str, errors: list[str]) -> list[tuple[int, dict]]:
    """Rows with their line numbers; a wrong header or ragged row is recorded in `errors`."""
    if not path.exists():
        errors.append(f"{label}: file not found")
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            errors.append(f"{label}:1: empty file")
            return []
        if header != columns:
            errors.append(f"{label}:1: expected columns {','.join(columns)}, found {','.join(header)}")
            return []
        rows = []
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(columns):
                errors.append(f"{label}:{line}: expected {len(columns)} fields, found {len(values)}")
                continue
            rows.append((line, dict(zip(columns, (value.strip() for value in values), strict=True))))
        return rows


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


def parse_formula(row: dict, resolve) -> dict:
    """A classical formula: `herb:grams|…` (grams, a range, or a count such as 3枚 / 10枚(12g)).
    Herbs the catalogue does not hold (粳米, 梨皮) and counts without grams are left out and
    named in the formula's note, for the clinician to add by hand."""
    if not row["name"] or not row["composition"]:
        raise RowError("name and composition are required")
    special = {}
    for entry in filter(None, row["special"].split("|")):
        herb, _, label = entry.partition(":")
        special[herb.strip()] = SPECIAL.get(label.strip(), "")
    items, left_out = [], []
    for entry in row["composition"].split("|"):
        herb, sep, amount = entry.partition(":")
        herb, amount = herb.strip(), amount.strip()
        if not sep or not herb or not amount:
            raise RowError(f"composition item {entry!r} is not herb:amount")
        grams_match, counted = GRAMS.match(amount), COUNTED.match(amount)
        if grams_match:
            low, high = grams_match.groups()
            grams = Decimal(low) if high is None else (Decimal(low) + Decimal(high)) / 2
        elif counted:
            grams = Decimal(counted.group(1)) if counted.group(1) else None
        else:
            raise RowError(f"composition item {entry!r}: unknown amount {amount!r}")
        name = resolve(herb)
        if name is None or grams is None:
            left_out.append(f"{herb} {amount}")
            continue
        items.append({"herb": name, "grams": f"{grams.normalize():f}", "instruction": special.get(herb, "")})
    note = f"未列入（请按需手工添加）：{'、'.join(left_out)}" if left_out else ""
    return {
        "name": row["name"][:50],
        "pinyin": row["pinyin"],
        "items": items,
        "usage": row["usage"][:200],
        "indications": row["indications"][:300],
        "source": f"{row['origin']}；{row['source']}"[:300],
        "note": note,
    }


def load(data_dir: Path = DATA_DIR) -> dict:
    """Parse and cross-check every file; raise ImportErrorReport listing every bad row."""
    errors: list[str] = []
    rows = {key: read_rows(data_dir / path, columns, path, errors) for key, (path, columns) in FILES.items()}

    herbs: dict[str, dict] = {}
    for key in ("herbs", "supplementary"):
        label = FILES[key][0]
        for line, row in rows[key]:
            try:
                values = parse_herb(row, supplementary=key == "supplementary")
            except RowError as exc:
                errors.append(f"{label}:{line}: {exc}")
                continue
            if values["name"] in herbs:
                errors.append(f"{label}:{line}: herb {values['name']!r} is listed twice")
                continue
            herbs[values["name"]] = values

    aliases: dict[str, dict] = {}
    label = FILES["aliases"][0]
    for line, row in rows["aliases"]:
        alias, target = row["alias"], row["herb"]
        if not alias or len(alias) > 20:
            errors.append(f"{label}:{line}: alias is empty or longer than 20 characters")
        elif alias in herbs:
            errors.append(f"{label}:{line}: alias {alias!r} is itself a catalogue name")
        elif alias in aliases:
            errors.append(f"{label}:{line}: alias {alias!r} is listed twice")
        elif target not in herbs:
            errors.append(f"{label}:{line}: alias {alias!r} points to {target!r}, which is not in the catalogue")
        else:
            aliases[alias] = {"herb": target, "source": row["source"][:200], "notes": row["notes"][:300]}

    def resolve(name: str) -> str | None:
        if name in herbs:
            return name
        return aliases[name]["herb"] if name in aliases else None

    rules = []
    label = FILES["incompatibilities"][0]
    for line, row in rows["incompatibilities"]:
        if row["rule"] not in RULE_KIND:
            errors.append(f"{label}:{line}: rule {row['rule']!r} is not 十八反 or 十九畏")
            continue
        groups = {}
        for column in ("group_a", "group_b"):
            names = split_names(row[column])
            unresolved = [name for name in names if resolve(name) is None]
            if not names:
                errors.append(f"{label}:{line}: {column} is empty")
            elif unresolved:
                errors.append(
                    f"{label}:{line}: {column} names {'、'.join(unresolved)}, not in the catalogue or aliases"
                )
            groups[column] = names
        rules.append({"kind": RULE_KIND[row["rule"]], "source": row["source"], "notes": row["notes"], **groups})

    toxic = []
    label = FILES["toxic"][0]
    for line, row in rows["toxic"]:
        herb = resolve(row["name"])
        if herb is None:
            errors.append(f"{label}:{line}: {row['name']!r} is not in the catalogue or aliases")
        else:
            toxic.append({"name": row["name"], "herb": herb, "source": row["source"], "notes": row["notes"]})

    pregnancy = {}
    label = FILES["pregnancy"][0]
    for line, row in rows["pregnancy"]:
        herb = resolve(row["name"])
        if herb is None:
            errors.append(f"{label}:{line}: {row['name']!r} is not in the catalogue or aliases")
        elif row["level"] not in PREGNANCY:
            errors.append(f"{label}:{line}: level {row['level']!r} is not one of {'/'.join(PREGNANCY)}")
        elif row["confidence"] not in CONFIDENCE:
            errors.append(f"{label}:{line}: confidence {row['confidence']!r} is not one of high/medium/low")
        elif herb in pregnancy:
            errors.append(f"{label}:{line}: {row['name']!r} is listed twice")
        else:
            pregnancy[herb] = {
                "level": PREGNANCY[row["level"]],
                "from_pharmacopoeia": "ChP2020" in row["source"] or "药典" in row["source"],
                "source": row["source"],
                "confidence": row["confidence"],
                "notes": row["notes"],
            }

    formulas = []
    label = FILES["formulas"][0]
    for line, row in rows["formulas"]:
        try:
            formulas.append(parse_formula(row, resolve))
        except RowError as exc:
            errors.append(f"{label}:{line}: {exc}")

    if errors:
        raise ImportErrorReport(errors)
    return {
        "formulas": formulas,
        "herbs": herbs,
        "aliases": aliases,
        "rules": rules,
        "toxic": toxic,
        "pregnancy": pregnancy,
        "resolve": resolve,
    }


@transaction.atomic
def import_catalogue(data_dir: Path = DATA_DIR) -> ImportSummary:
    """Load every file (see `load`), then write it all in one transaction."""
    data = load(data_dir)
    summary = ImportSummary()
    existing = {herb.name: herb for herb in Herb.objects.all()}
    by_name: dict[str, Herb] = {}
    for name, values in data["herbs"].items():
        herb = existing.get(name)
        if herb is None:
            herb = Herb.objects.create(**values)
            summary.herbs_created += 1
        else:
            values.pop("active", None)  # an administrator's choice outlives a re-import
            changed = [key for key in REFERENCE_FIELDS if getattr(herb, key) != values[key]]
            if changed:
                for key in REFERENCE_FIELDS:
                    setattr(herb, key, values[key])
                if herb.verified_by_pharmacist:
                    herb.verified_by_pharmacist, herb.verified_by, herb.verified_at = False, None, None
                    summary.herbs_unverified += 1
                herb.save()
                summary.herbs_updated += 1
        by_name[name] = herb

    for alias, values in data["aliases"].items():
        pinyin = guess_pinyin(alias)
        HerbAlias.objects.update_or_create(
            alias=alias,
            defaults={
                "herb": by_name[values["herb"]],
                "pinyin_compact": compact(pinyin),
                "initials": initials_of(pinyin),
                "source": values["source"],
                "notes": values["notes"],
            },
        )
        summary.aliases += 1

    resolve = data["resolve"]
    # The rule lists are reference data only: replace them whole.
    IncompatibilityRule.objects.all().delete()
    for values in data["rules"]:
        rule = IncompatibilityRule.objects.create(
            kind=values["kind"],
            names_a="|".join(values["group_a"])[:300],
            names_b="|".join(values["group_b"])[:300],
            source=values["source"],
            notes=values["notes"],
        )
        rule.group_a.set({by_name[resolve(name)] for name in values["group_a"]})
        rule.group_b.set({by_name[resolve(name)] for name in values["group_b"]})
        summary.incompatibility_rules += 1

    ToxicListEntry.objects.all().delete()
    ToxicListEntry.objects.bulk_create(
        ToxicListEntry(name=v["name"], herb=by_name[v["herb"]], source=v["source"], notes=v["notes"])
        for v in data["toxic"]
    )
    summary.toxic_entries = len(data["toxic"])

    PregnancyCaution.objects.all().delete()
    PregnancyCaution.objects.bulk_create(
        PregnancyCaution(herb=by_name[name], **values) for name, values in data["pregnancy"].items()
    )
    summary.pregnancy_cautions = len(data["pregnancy"])

    for values in data["formulas"]:
        Formula.objects.update_or_create(
            kind=FormulaKind.CLASSICAL,
            name=values["name"],
            version=1,
            institution=None,
            owner=None,
            defaults={
                "pinyin_initials": initials_of(values["pinyin"]),
                "items": values["items"],
                "usage": values["usage"],
                "indications": values["indications"],
                "source": (values["source"] + ("；" + values["note"] if values["note"] else ""))[:300],
            },
        )
    summary.formulas = len(data["formulas"])
    return summary
