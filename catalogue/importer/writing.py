"""Write what `load` returned, all in one transaction.

A re-import updates the reference columns of a herb in place; price, active flag and a
pharmacist's verification stay, except that a herb whose reference values changed needs
verifying again. The rule lists are reference data only and are replaced whole.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from ..models import (
    BareName,
    Formula,
    FormulaKind,
    Herb,
    HerbAlias,
    IncompatibilityRule,
    PregnancyCaution,
    ToxicListEntry,
)
from ..pinyin import compact, guess_pinyin, initials_of
from .files import DATA_DIR
from .loading import load

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
    "monograph",
    "child_forbidden",
    "decoction_use",
    "decoction_method_conditional",
    "method_also_accepted",
    "dose_basis",
    "inactive_reason",
    "drastic_purgative",
    "aconite_alkaloid",
    "rule_source",
    "pharmacopoeia_excerpt",
]


@dataclass
class ImportSummary:
    herbs_created: int = 0
    herbs_updated: int = 0
    herbs_unverified: int = 0
    aliases: int = 0
    bare_names: int = 0
    incompatibility_rules: int = 0
    toxic_entries: int = 0
    pregnancy_cautions: int = 0
    formulas: int = 0
    warnings: list[str] = field(default_factory=list)


@transaction.atomic
def import_catalogue(data_dir: Path = DATA_DIR) -> ImportSummary:
    """Load every file (see `load`), then write it all in one transaction."""
    data = load(data_dir)
    summary = ImportSummary()
    by_name = _write_herbs(data["herbs"], summary)
    _write_aliases(data["aliases"], by_name, summary)
    _write_bare_names(data["bare_names"], by_name, summary)
    _write_rules(data["rules"], data["resolve"], by_name, summary)
    _write_toxic(data["toxic"], by_name, summary)
    _write_pregnancy(data["pregnancy"], by_name, summary)
    _write_formulas(data["formulas"], summary)
    return summary


def _write_herbs(herbs: dict[str, dict], summary: ImportSummary) -> dict[str, Herb]:
    existing = {herb.name: herb for herb in Herb.objects.all()}
    by_name: dict[str, Herb] = {}
    for name, values in herbs.items():
        herb = existing.get(name)
        if herb is None:
            herb = Herb.objects.create(**values)
            summary.herbs_created += 1
        else:
            values.pop("active", None)  # an administrator's choice outlives a re-import …
            withdrawn = bool(values.get("inactive_reason")) and herb.active
            if withdrawn:  # … except a withdrawal the data states (穿山甲, aristolochic acid)
                herb.active = False
            changed = [key for key in REFERENCE_FIELDS if getattr(herb, key) != values[key]]
            if changed:
                for key in REFERENCE_FIELDS:
                    setattr(herb, key, values[key])
                if herb.verified_by_pharmacist:
                    herb.verified_by_pharmacist, herb.verified_by, herb.verified_at = False, None, None
                    summary.herbs_unverified += 1
                herb.save()
                summary.herbs_updated += 1
            elif withdrawn:
                herb.save(update_fields=["active"])
                summary.herbs_updated += 1
        by_name[name] = herb
    return by_name


def _write_aliases(aliases: dict[str, dict], by_name: dict[str, Herb], summary: ImportSummary) -> None:
    for alias, values in aliases.items():
        pinyin = guess_pinyin(alias)
        HerbAlias.objects.update_or_create(
            alias=alias,
            defaults={
                "herb": by_name[values["herb"]],
                "pinyin_compact": compact(pinyin),
                "initials": initials_of(pinyin),
                "kind": values["kind"],
                "basis": values["basis"],
                "notes": values["notes"],
            },
        )
        summary.aliases += 1


def _write_bare_names(bare_names: dict[str, dict], by_name: dict[str, Herb], summary: ImportSummary) -> None:
    # A county's own table: rows it added stay; the shipped rows are brought back to the file.
    for written, values in bare_names.items():
        BareName.objects.update_or_create(
            written=written, defaults={"herb": by_name[values["herb"]], "basis": values["basis"]}
        )
    summary.bare_names = len(bare_names)


def _write_rules(rules: list[dict], resolve, by_name: dict[str, Herb], summary: ImportSummary) -> None:
    # The rule lists are reference data only: replace them whole.
    IncompatibilityRule.objects.all().delete()
    for values in rules:
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


def _write_toxic(toxic: list[dict], by_name: dict[str, Herb], summary: ImportSummary) -> None:
    ToxicListEntry.objects.all().delete()
    ToxicListEntry.objects.bulk_create(
        ToxicListEntry(name=v["name"], herb=by_name[v["herb"]], source=v["source"], notes=v["notes"]) for v in toxic
    )
    summary.toxic_entries = len(toxic)


def _write_pregnancy(pregnancy: dict[str, dict], by_name: dict[str, Herb], summary: ImportSummary) -> None:
    PregnancyCaution.objects.all().delete()
    PregnancyCaution.objects.bulk_create(
        PregnancyCaution(herb=by_name[name], **values) for name, values in pregnancy.items()
    )
    summary.pregnancy_cautions = len(pregnancy)


def _source_with_note(source: str, note: str, limit: int = 300) -> str:
    """The source, then the clinician's note last (the editor shows the last part): if they do
    not fit, the source is cut, never the note (the full source stays in the data file)."""
    if not note:
        return source[:limit]
    return f"{source[: max(limit - len(note) - 1, 0)]}；{note}"[:limit]


def _write_formulas(formulas: list[dict], summary: ImportSummary) -> None:
    for values in formulas:
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
                "source": _source_with_note(values["source"], values["note"]),
            },
        )
    summary.formulas = len(formulas)
