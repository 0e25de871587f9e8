"""Parse every file and cross-check the names between them, before anything is written.

Every bad row is collected as `file:line: reason`; `load` raises them all together.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from .files import DATA_DIR, FILES, read_rows
from .herb_rules import parse_herb_rule
from .parsing import ALIAS_KIND, CONFIDENCE, PREGNANCY, RULE_KIND, RowError, parse_formula, parse_herb, split_names

Rows = list[tuple[int, dict]]


@dataclass
class ImportErrorReport(Exception):
    errors: list[str]

    def __str__(self):
        return "\n".join(self.errors)


def load(data_dir: Path = DATA_DIR) -> dict:
    """Parse and cross-check every file; raise ImportErrorReport listing every bad row."""
    errors: list[str] = []
    rows = {key: read_rows(data_dir / path, columns, path, errors) for key, (path, columns) in FILES.items()}
    herbs = _check_herbs(rows, errors)
    _merge_herb_rules(rows["herb_rules"], herbs, errors)
    aliases = _check_aliases(rows["aliases"], herbs, errors)
    resolve = _resolver(herbs, aliases)
    bare_names = _check_bare_names(rows["bare_names"], resolve, errors)
    rules = _check_rules(rows["incompatibilities"], resolve, errors)
    toxic = _check_toxic(rows["toxic"], resolve, errors)
    pregnancy = _check_pregnancy(rows["pregnancy"], resolve, errors)
    formulas = _check_formulas(rows["formulas"], resolve, herbs, errors)
    if errors:
        raise ImportErrorReport(errors)
    return {
        "formulas": formulas,
        "herbs": herbs,
        "aliases": aliases,
        "bare_names": bare_names,
        "rules": rules,
        "toxic": toxic,
        "pregnancy": pregnancy,
        "resolve": resolve,
    }


def _resolver(herbs: dict, aliases: dict):
    """A name as written in the rule lists -> its catalogue name, or None."""

    def resolve(name: str) -> str | None:
        if name in herbs:
            return name
        return aliases[name]["herb"] if name in aliases else None

    return resolve


def _check_herbs(rows: dict[str, Rows], errors: list[str]) -> dict[str, dict]:
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
    return herbs


def _merge_herb_rules(rows: Rows, herbs: dict, errors: list[str]) -> None:
    """Every herb has exactly one herb_rules.csv row; its values join the herb's."""
    label = FILES["herb_rules"][0]
    seen = set()
    for line, row in rows:
        name = row["name"]
        if name not in herbs:
            errors.append(f"{label}:{line}: {name!r} is not in the catalogue")
        elif name in seen:
            errors.append(f"{label}:{line}: {name!r} is listed twice")
        elif row["monograph"] not in herbs:
            errors.append(f"{label}:{line}: monograph {row['monograph']!r} is not a catalogue name")
        else:
            seen.add(name)
            try:
                herbs[name].update(parse_herb_rule(row, herbs[name]))
            except RowError as exc:
                errors.append(f"{label}:{line}: {exc}")
    missing = sorted(set(herbs) - seen)
    if missing and rows:
        errors.append(f"{label}: no row for {'、'.join(missing[:10])}{' …' if len(missing) > 10 else ''}")


# A basis names a source a pharmacist can look up (a 药典 monograph, a textbook, a regulation),
# never a file of this repository or another one.
REPOSITORY_PATH = re.compile(
    r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|\.(?:csv|md|json|py|txt)\b|README|\bvia\b", re.IGNORECASE
)
NAMED_SOURCE = re.compile(r"《[^》]+》|中国药典|歌诀")


def basis_problem(basis: str) -> str | None:
    """Why `basis` is not a usable basis, or None."""
    if not basis:
        return "basis is empty"
    if REPOSITORY_PATH.search(basis):
        return f"basis {basis!r} names a file, not a source"
    if not NAMED_SOURCE.search(basis):
        return f"basis {basis!r} names no source (a 《title》, the 中国药典 or a 歌诀)"
    if len(basis) > 300:
        return "basis is longer than 300 characters"
    return None


def _check_aliases(rows: Rows, herbs: dict, errors: list[str]) -> dict[str, dict]:
    aliases: dict[str, dict] = {}
    label = FILES["aliases"][0]
    for line, row in rows:
        alias, target = row["alias"], row["herb"]
        if not alias or len(alias) > 20:
            errors.append(f"{label}:{line}: alias is empty or longer than 20 characters")
        elif alias in herbs:
            errors.append(f"{label}:{line}: alias {alias!r} is itself a catalogue name")
        elif alias in aliases:
            errors.append(f"{label}:{line}: alias {alias!r} is listed twice")
        elif target not in herbs:
            errors.append(f"{label}:{line}: alias {alias!r} points to {target!r}, which is not in the catalogue")
        elif row["kind"] not in ALIAS_KIND:
            errors.append(f"{label}:{line}: kind {row['kind']!r} is not one of {'/'.join(ALIAS_KIND)}")
        elif problem := basis_problem(row["basis"]):
            errors.append(f"{label}:{line}: {problem}")
        else:
            aliases[alias] = {"herb": target, "kind": row["kind"], "basis": row["basis"], "notes": row["notes"][:300]}
    return aliases


def _check_bare_names(rows: Rows, resolve, errors: list[str]) -> dict[str, dict]:
    """Bare names the dispensing conventions give processed: the written name must itself resolve
    (so that the "literal" policy still reads it) and the herb dispensed must be in the catalogue."""
    bare: dict[str, dict] = {}
    label = FILES["bare_names"][0]
    for line, row in rows:
        written, dispensed = row["written"], row["dispensed"]
        if resolve(written) is None:
            errors.append(f"{label}:{line}: {written!r} is not in the catalogue or aliases")
        elif resolve(dispensed) != dispensed:
            errors.append(f"{label}:{line}: {dispensed!r} is not a catalogue herb")
        elif written.startswith("生"):
            errors.append(f"{label}:{line}: {written!r} names the raw drug explicitly; it is never a bare name")
        elif written in bare:
            errors.append(f"{label}:{line}: {written!r} is listed twice")
        elif problem := basis_problem(row["basis"]):
            errors.append(f"{label}:{line}: {problem}")
        else:
            bare[written] = {"herb": dispensed, "basis": row["basis"]}
    return bare


def _check_rules(rows: Rows, resolve, errors: list[str]) -> list[dict]:
    rules = []
    label = FILES["incompatibilities"][0]
    for line, row in rows:
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
    return rules


def _check_toxic(rows: Rows, resolve, errors: list[str]) -> list[dict]:
    toxic = []
    label = FILES["toxic"][0]
    for line, row in rows:
        herb = resolve(row["name"])
        if herb is None:
            errors.append(f"{label}:{line}: {row['name']!r} is not in the catalogue or aliases")
        else:
            toxic.append({"name": row["name"], "herb": herb, "source": row["source"], "notes": row["notes"]})
    return toxic


def _check_pregnancy(rows: Rows, resolve, errors: list[str]) -> dict[str, dict]:
    pregnancy = {}
    label = FILES["pregnancy"][0]
    for line, row in rows:
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
                # "非药典2020品种" names the 药典 too: only a row that cites it first is from it.
                "from_pharmacopoeia": row["source"].startswith(("ChP2020", "中国药典")),
                "source": row["source"],
                "confidence": row["confidence"],
                "notes": row["notes"],
            }
    return pregnancy


def _check_formulas(rows: Rows, resolve, herbs: dict, errors: list[str]) -> list[dict]:
    formulas = []

    def dose_min(name: str):
        return herbs[name]["dose_min_g"]

    label = FILES["formulas"][0]
    for line, row in rows:
        try:
            formulas.append(parse_formula(row, resolve, dose_min))
        except RowError as exc:
            errors.append(f"{label}:{line}: {exc}")
    return formulas
