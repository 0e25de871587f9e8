"""The per-herb rule data (herb_rules.csv) merged into a herb's values, and the pharmacopoeia
excerpt built from them.

Every herb has exactly one row. `source` names the document the row's facts come from — the
pharmacopoeia, a textbook or a regulation, by name; never a repository path — and it is what the
engine's findings about that herb cite. A herb whose row does not cite the pharmacopoeia is not
treated as a pharmacopoeia item (`in_pharmacopoeia` false), whatever file it came from.
"""

from ..models import DecoctionUse
from .parsing import BOOLEAN, SPECIAL, RowError, parse_decimal

PHARMACOPOEIA = "中国药典2020年版一部"
# A citation is a document's name, not where a copy of it was found.
FORBIDDEN_IN_SOURCE = ("/", "\\", ".csv", ".json", ".md", "github", "via ", "chunk_", "来源")
DECOCTION_USES = set(DecoctionUse.values) - {""}
SPECIAL_CODES = set(SPECIAL.values())
PREGNANCY_WORDS = {"forbidden": "孕妇禁用", "avoid": "孕妇忌用", "caution": "孕妇慎用"}


def _flag(row: dict, column: str) -> bool:
    if row[column] not in BOOLEAN:
        raise RowError(f"{column} {row[column]!r} must be true or false")
    return BOOLEAN[row[column]]


def parse_herb_rule(row: dict, herb: dict) -> dict:
    """The herb's rule values from its herb_rules.csv row; raises RowError for a bad row."""
    source = row["source"]
    if not source or len(source) > 200 or any(bad in source.lower() for bad in FORBIDDEN_IN_SOURCE):
        raise RowError(f"source {source!r} must name a document (no paths, at most 200 characters)")
    if not row["monograph"] or len(row["monograph"]) > 20:
        raise RowError("monograph is empty or longer than 20 characters")
    if row["decoction_use"] and row["decoction_use"] not in DECOCTION_USES:
        raise RowError(f"decoction_use {row['decoction_use']!r} is not one of {'/'.join(sorted(DECOCTION_USES))}")
    also = [code for code in row["method_also_accepted"].split("|") if code]
    if any(code not in SPECIAL_CODES for code in also):
        raise RowError(f"method_also_accepted {row['method_also_accepted']!r} names an unknown method")
    dose_min, dose_max = parse_decimal(row["dose_min_g"], "dose_min_g"), parse_decimal(row["dose_max_g"], "dose_max_g")
    if (dose_min is None) != (dose_max is None) or (dose_min is not None and dose_min > dose_max):
        raise RowError("dose_min_g and dose_max_g must both be given, in order, or both be empty")
    values = {
        "monograph": row["monograph"],
        "child_forbidden": _flag(row, "child_forbidden"),
        "decoction_use": row["decoction_use"],
        "decoction_method_conditional": _flag(row, "decoction_method_conditional"),
        "method_also_accepted": "|".join(also),
        "inactive_reason": row["inactive_reason"][:200],
        "drastic_purgative": _flag(row, "drastic_purgative"),
        "aconite_alkaloid": _flag(row, "aconite_alkaloid"),
        "rule_source": source,
        "in_pharmacopoeia": source.startswith(PHARMACOPOEIA),
        "dose_basis": row["notes"][:200] if dose_min is not None else "",
    }
    if dose_min is not None:  # a range converted or combined from the 药典's own words (notes say how)
        values["dose_min_g"], values["dose_max_g"] = dose_min, dose_max
    if values["inactive_reason"]:
        values["active"] = False
    values["pharmacopoeia_excerpt"] = excerpt({**herb, **values})
    return values


def _g(value) -> str:
    return f"{value.normalize():f}"


def excerpt(herb: dict) -> str:
    """The herb's 【用法与用量】 and 【注意】 as the 药典 gives them, rebuilt from the row's values
    (labelled as such); empty for an item the 药典 does not list."""
    if not herb["in_pharmacopoeia"]:
        return ""
    usage = []
    if herb["dose_min_g"] is not None and not herb.get("dose_basis"):
        usage.append(f"{_g(herb['dose_min_g'])}～{_g(herb['dose_max_g'])}g")
    elif herb.get("dose_basis"):
        usage.append(herb["dose_basis"])
    if herb["special_decoction"]:
        label = next(label for label, code in SPECIAL.items() if code == herb["special_decoction"])
        usage.append(("用于泻下" if herb["decoction_method_conditional"] else "") + label)
    if herb["decoction_use"]:
        usage.append(DecoctionUse(herb["decoction_use"]).label)
    if herb["external_only"]:
        usage.append("外用适量（无内服剂量）")
    cautions = []
    if herb["pregnancy"]:
        cautions.append(PREGNANCY_WORDS[herb["pregnancy"]])
    if herb["child_forbidden"]:
        cautions.append("儿童禁用")
    if herb["incompatible_with"]:
        cautions.append(f"不宜与{'、'.join(herb['incompatible_with'].split('|'))}同用")
    text = f"【用法与用量】{'，'.join(usage) or '见药典原文'}。"
    if cautions:
        text += f"【注意】{'；'.join(cautions)}。"
    return f"{text}（{PHARMACOPOEIA}【{herb['monograph']}】条，本平台据条文要点整理）"
