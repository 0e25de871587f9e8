"""Dose rules: the adult range, a child's scaled range, the elderly, herbs with no checked range
in grams, and toxic totals (two days' maximum; 乌头-class alkaloids added across herbs). Each
function is listed by its finding code in rules.checks' tables. Pure: no database access.

A line with grams ≤ 0 is left to input.invalid: no dose rule reads it."""

from collections.abc import Iterator
from decimal import Decimal

from .base import Context, Line, finding
from .base import grams_text as _g
from .data import Finding

PEDIATRIC_SOURCE = "《中药学》（第七版）儿童用量折算"


def _over_max(line: Line) -> bool:
    return line.rule.dose_max is not None and line.grams > line.rule.dose_max


def check_dose_over_max(ctx: Context, line: Line) -> Iterator[Finding]:
    if _over_max(line):
        yield finding(
            "dose.over_max",
            [line.written],
            f"{line.written} {_g(line.grams)}g 超过成人日用量上限 {_g(line.rule.dose_max)}g；"
            "确需超量须医师双签名并注明理由。",
            line.rule.source,
        )


def check_dose_under_min(ctx: Context, line: Line) -> Iterator[Finding]:
    """Below the usual minimum — for a child, the child's scaled minimum (no adult-minimum
    notice for a child's dose)."""
    dose_min = line.rule.dose_min
    if dose_min is None or line.grams <= 0 or _over_max(line):
        return
    factor = ctx.child_factor
    limit = dose_min if factor is None else (dose_min * factor).quantize(Decimal("0.01"))
    if line.grams < limit:
        whose = "常用量下限" if factor is None else f"儿童常用量下限约（{ctx.child_basis}）"
        yield finding(
            "dose.under_min",
            [line.written],
            f"{line.written} {_g(line.grams)}g 低于{whose} {_g(limit)}g，请确认。",
            line.rule.source,
        )


def check_dose_no_range(ctx: Context, line: Line) -> Iterator[Finding]:
    """An active herb for internal use with no checked range in grams cannot be dose-checked."""
    rule = line.rule
    if rule.dose_max is None and rule.active and not rule.external_only and rule.decoction_use != "processed_only":
        message = f"{line.written}在目录中没有以克计的剂量范围，无法核对剂量；须药师核定后方可调剂。"
        yield finding("dose.no_range", [line.written], message, rule.source)


def check_pediatric_dose(ctx: Context, line: Line) -> Iterator[Finding]:
    factor, dose_max = ctx.child_factor, line.rule.dose_max
    if factor is not None and dose_max is not None and line.grams > dose_max * factor:
        limit = (dose_max * factor).quantize(Decimal("0.1"))
        yield finding(
            "pediatric.dose",
            [line.written],
            f"患儿{line.written} {_g(line.grams)}g 超过儿童上限约 {_g(limit)}g（{ctx.child_basis}），请减量。",
            PEDIATRIC_SOURCE,
        )


def check_pediatric_forbidden(ctx: Context, line: Line) -> Iterator[Finding]:
    if ctx.child_factor is not None and line.rule.child_forbidden:
        message = f"{line.written}儿童禁用，请删除或换药。"
        yield finding("pediatric.forbidden", [line.written], message, line.rule.source)


def check_elderly_dose(ctx: Context, line: Line) -> Iterator[Finding]:
    dose_max = line.rule.dose_max
    if ctx.elderly and dose_max is not None and line.grams > dose_max * ctx.rules.elderly_factor:
        yield finding(
            "elderly.dose",
            [line.written],
            f"老年患者{line.written} {_g(line.grams)}g 接近或超过成人上限 {_g(dose_max)}g，请酌情减量。",
            "《医疗机构处方审核规范》特殊人群用药",
        )


def check_toxic_days_limit(ctx: Context, line: Line) -> Iterator[Finding]:
    if not line.rule.toxic_listed or line.rule.dose_max is None:
        return
    limit = line.rule.dose_max * ctx.rules.toxic_days
    total = line.grams * ctx.draft.doses
    if total > limit:
        yield finding(
            "toxic.days_limit",
            [line.written],
            f"{line.written}共 {_g(total)}g，超过二日极量 {_g(limit)}g，请减少剂数或剂量。",
            "《医疗用毒性药品管理办法》第九条",
        )


def check_toxic_cumulative(ctx: Context) -> Iterator[Finding]:
    """Two or more 乌头-class herbs (川乌、草乌、附子 and their forms) add the same alkaloids."""
    lines = [line for line in ctx.lines if line.rule.aconite_alkaloid]
    if len(lines) < 2:
        return
    names = [line.written for line in lines]
    total = sum((line.grams for line in lines if line.grams > 0), Decimal(0))
    yield finding(
        "toxic.cumulative",
        names,
        f"{'、'.join(names)}同属乌头类，生物碱毒性累加，每剂合计 {_g(total)}g；"
        "请确认必要性，各自先煎、久煎，并按合计量减量。",
        "中国药典2020年版一部（川乌、草乌、附子【性味与归经】有毒）；《中药学》（第七版）",
    )
