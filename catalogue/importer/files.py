"""Where the catalogue files live, the columns each must have, and reading their rows."""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

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
# Per-herb rule data (catalogue/data/herb_rules.csv): one row per herb, each with its citation.
HERB_RULE_COLUMNS = [
    "name",
    "monograph",
    "child_forbidden",
    "decoction_use",
    "decoction_method_conditional",
    "method_also_accepted",
    "dose_min_g",
    "dose_max_g",
    "inactive_reason",
    "drastic_purgative",
    "aconite_alkaloid",
    "source",
    "notes",
]
FILES = {
    "herbs": ("reference/herbs/herbs.csv", HERB_COLUMNS),
    "supplementary": ("supplementary_herbs.csv", HERB_COLUMNS + ["active"]),
    "aliases": ("aliases.csv", ["alias", "herb", "kind", "basis", "notes"]),
    "bare_names": ("bare_names.csv", ["written", "dispensed", "basis"]),
    "herb_rules": ("herb_rules.csv", HERB_RULE_COLUMNS),
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
