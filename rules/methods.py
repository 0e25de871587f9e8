"""Decoction-method rules: a required method missing or wrong, herbs the 药典 says not to decoct,
and raw toxic items with no internal dose in an oral decoction. Each function is listed by its
finding code in rules.checks' tables. Pure: no database access.

A method the 药典 ties to a purpose (大黄: 用于泻下不宜久煎) is advice for the clinician, not a
finding: the engine does not know the purpose."""

from collections.abc import Iterator

from .base import Context, Line, finding, instruction_codes
from .data import REQUIRED_INSTRUCTIONS, SPECIAL_LABELS, Finding, Severity

NOT_DECOCTED = {
    "not_for_decoction": "不入煎剂",
    "pills_only": "宜入丸散",
    "dissolve": "溶入汤液",
    "infuse": "研末冲服",
}


def _required(line: Line) -> str:
    """The method the herb must be written with, or "" when none is required of this line."""
    rule = line.rule
    if rule.special in REQUIRED_INSTRUCTIONS and not rule.method_conditional:
        return rule.special
    return ""


def check_instruction_missing(ctx: Context, line: Line) -> Iterator[Finding]:
    required = _required(line)
    if required and not (line.item.instruction or "").strip():
        label = SPECIAL_LABELS[required]
        message = f"{line.written}应{label}，请注明“{label}”。"
        yield finding("decoction.instruction_missing", [line.written], message, line.rule.source)


def check_instruction_wrong(ctx: Context, line: Line) -> Iterator[Finding]:
    """An instruction is given but names none of the methods the 药典 allows for the herb (附子
    后下 when it must be 先煎). Blocks for toxic herbs, warns otherwise."""
    required, written = _required(line), instruction_codes(line.item.instruction)
    if not required or not written:
        return
    allowed = {required, *line.rule.methods_also_accepted}
    if written & allowed:
        return
    rule = line.rule
    toxic = rule.toxicity in ("toxic", "high") or rule.toxic_listed
    wrote = "、".join(SPECIAL_LABELS[code] for code in sorted(written))
    label = SPECIAL_LABELS[required]
    yield finding(
        "decoction.instruction_wrong",
        [line.written],
        f"{line.written}应{label}，处方写作“{wrote}”，煎法有误，请改为“{label}”。",
        rule.source,
        severity=Severity.BLOCK if toxic else Severity.WARN,
    )


def check_not_for_decoction(ctx: Context, line: Line) -> Iterator[Finding]:
    """A herb the 药典 says not to decoct, written for the decoction (without 冲服). Herbs whose
    own method is 冲服 are left to the two rules above."""
    rule = line.rule
    how = NOT_DECOCTED.get(rule.decoction_use)
    if how is None or rule.external_only or rule.special == "infuse":
        return
    if "infuse" in instruction_codes(line.item.instruction):
        return
    message = f"{line.written}药典：{how}，不宜与群药同煎；请注明“冲服”或改入丸散。"
    yield finding("decoction.not_for_decoction", [line.written], message, rule.source)


def check_raw_in_decoction(ctx: Context, line: Line) -> Iterator[Finding]:
    """Raw 川乌/草乌/附子 — items the 药典 gives no internal dose ("一般炮制后用") — in an oral
    decoction: blocked at any amount and whatever the method."""
    rule = line.rule
    if rule.decoction_use == "processed_only" and not rule.external_only:
        yield finding(
            "toxic.raw_in_decoction",
            [line.written],
            f"{line.written}为生品，药典“一般炮制后用”，无内服剂量，不得入内服汤剂（任何剂量）；"
            "请改用炮制品（如制川乌、制草乌、附片），先煎、久煎。",
            rule.source,
        )
