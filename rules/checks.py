"""The audit rules, one function per finding code, and the tables that list them in the order
their findings are reported (before `engine.audit` sorts them by severity).

A name rule takes the context; a line rule takes the context and one resolved herb line; a
prescription rule takes the context. Each yields Findings. Pure: no database access."""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from .data import (
    CODES,
    LABEL_TO_SPECIAL,
    REQUIRED_INSTRUCTIONS,
    SPECIAL_LABELS,
    AgeBand,
    Finding,
    HerbRule,
    Item,
    PatientContext,
    PrescriptionDraft,
    RuleSnapshot,
    Severity,
)


@dataclass(frozen=True)
class Line:
    """A herb line whose written name resolved to a catalogue herb."""

    item: Item
    rule: HerbRule

    @property
    def written(self) -> str:
        return self.item.herb

    @property
    def grams(self) -> Decimal:
        return Decimal(self.item.grams)


@dataclass(frozen=True)
class Context:
    draft: PrescriptionDraft
    patient: PatientContext
    rules: RuleSnapshot
    lines: tuple  # of Line, in prescription order
    allergy_bases: frozenset
    unrecognised_allergies: tuple  # allergy names as written that name no catalogue herb
    band: AgeBand | None  # the child's age band, None for adults
    elderly: bool


def context(draft: PrescriptionDraft, patient: PatientContext, rules: RuleSnapshot) -> Context:
    lines = tuple(Line(item, rule) for item in draft.items if (rule := rules.resolve(item.herb)) is not None)
    # An allergy is read literally through the alias table (元胡 → 延胡索), never by substring;
    # a name that does not resolve matches nothing and is shown back (allergy.unrecognised).
    allergy_bases, unrecognised = set(), []
    for name in patient.allergies:
        rule = rules.resolve_literal(name)
        if rule is not None:
            allergy_bases.add(rule.base)
        elif name.strip() and name.strip() not in unrecognised:
            unrecognised.append(name.strip())
    age = patient.age_years
    child = age is not None and age < rules.child_below_years
    return Context(
        draft=draft,
        patient=patient,
        rules=rules,
        lines=lines,
        allergy_bases=frozenset(allergy_bases),
        unrecognised_allergies=tuple(unrecognised),
        band=next((b for b in rules.age_bands if child and age < b.below_years), None),
        elderly=age is not None and age >= rules.elderly_from_years,
    )


def finding(code: str, herbs, message: str, source: str, severity: str | None = None) -> Finding:
    return Finding(code, severity or CODES[code][0], tuple(herbs), message, source)


def _g(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _instruction_code(instruction: str) -> str:
    instruction = (instruction or "").strip()
    return LABEL_TO_SPECIAL.get(instruction, instruction)


def _over_max(line: Line) -> bool:
    return line.rule.dose_max is not None and line.grams > line.rule.dose_max


# --- the written names ----------------------------------------------------------------------------


def check_unknown_herbs(ctx: Context) -> Iterator[Finding]:
    for item in ctx.draft.items:
        if ctx.rules.resolve(item.herb) is None:
            suggestions = ctx.rules.suggest(item.herb)
            hint = f"，是否为：{'、'.join(suggestions)}？" if suggestions else "，请从目录中选择。"
            yield finding("catalog.unknown", [item.herb], f"饮片目录中没有“{item.herb}”{hint}", "本平台饮片目录")


def check_allergy_unrecognised(ctx: Context) -> Iterator[Finding]:
    for name in ctx.unrecognised_allergies:
        message = f"过敏史中的“{name}”不是目录中的饮片名，未能用于过敏核对，请改为饮片正名或常用别名。"
        yield finding("allergy.unrecognised", [name], message, "患者过敏史")


# --- one herb line --------------------------------------------------------------------------------


def check_inactive_herb(ctx: Context, line: Line) -> Iterator[Finding]:
    if not line.rule.active:
        message = f"{line.written}已停用或不得调剂，请换用其他药。"
        yield finding("herb.inactive", [line.written], message, line.rule.source)


def check_external_only(ctx: Context, line: Line) -> Iterator[Finding]:
    if line.rule.external_only:
        yield finding(
            "route.external_only", [line.written], f"{line.written}仅供外用，不能入内服汤剂。", line.rule.source
        )


def check_allergy(ctx: Context, line: Line) -> Iterator[Finding]:
    if line.rule.base in ctx.allergy_bases:
        message = f"患者对{line.written}（{line.rule.base}类）过敏，请删除或换药。"
        yield finding("allergy", [line.written], message, "患者过敏史")


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
    if not _over_max(line) and line.rule.dose_min is not None and line.grams < line.rule.dose_min:
        yield finding(
            "dose.under_min",
            [line.written],
            f"{line.written} {_g(line.grams)}g 低于常用量下限 {_g(line.rule.dose_min)}g，请确认。",
            line.rule.source,
        )


def check_pediatric_dose(ctx: Context, line: Line) -> Iterator[Finding]:
    band, dose_max = ctx.band, line.rule.dose_max
    if band is not None and dose_max is not None and line.grams > dose_max * band.factor:
        limit = (dose_max * band.factor).quantize(Decimal("0.1"))
        yield finding(
            "pediatric.dose",
            [line.written],
            f"{band.label}患儿{line.written} {_g(line.grams)}g 超过按年龄折算的上限约 {_g(limit)}g"
            f"（成人量×{band.factor:.2f}），请减量。",
            "《中药学》儿童用量折算",
        )


def check_elderly_dose(ctx: Context, line: Line) -> Iterator[Finding]:
    dose_max = line.rule.dose_max
    if ctx.elderly and dose_max is not None and line.grams > dose_max * ctx.rules.elderly_factor:
        yield finding(
            "elderly.dose",
            [line.written],
            f"老年患者{line.written} {_g(line.grams)}g 接近或超过成人上限 {_g(dose_max)}g，请酌情减量。",
            "《医疗机构处方审核规范》特殊人群用药",
        )


def check_pregnancy_forbidden(ctx: Context, line: Line) -> Iterator[Finding]:
    rule = line.rule
    if ctx.patient.pregnant and rule.pregnancy in ("forbidden", "avoid"):
        level = "禁用" if rule.pregnancy == "forbidden" else "忌用"
        # Only the pharmacopoeia's list blocks; the textbook's stricter list warns.
        yield finding(
            "pregnancy.forbidden",
            [line.written],
            f"{line.written}孕妇{level}，请删除或换药。",
            rule.source if rule.pregnancy_from_pharmacopoeia else "《中药学》教材",
            severity=None if rule.pregnancy_from_pharmacopoeia else Severity.WARN,
        )


def check_pregnancy_caution(ctx: Context, line: Line) -> Iterator[Finding]:
    rule = line.rule
    if ctx.patient.pregnant and rule.pregnancy == "caution":
        yield finding(
            "pregnancy.caution",
            [line.written],
            f"{line.written}孕妇慎用，确需使用请权衡并告知患者。",
            rule.source if rule.pregnancy_from_pharmacopoeia else "《中药学》教材",
        )


def check_toxic_herb(ctx: Context, line: Line) -> Iterator[Finding]:
    rule = line.rule
    if rule.toxic_listed or rule.toxicity == "high":
        why = "医疗用毒性药品" if rule.toxic_listed else "大毒饮片"
        yield finding(
            "toxic.herb",
            [line.written],
            f"{line.written}为{why}，须严格掌握剂量并由药师双人核对。",
            "《医疗用毒性药品管理办法》（1988）" if rule.toxic_listed else rule.source,
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


def check_instruction_missing(ctx: Context, line: Line) -> Iterator[Finding]:
    if line.rule.special in REQUIRED_INSTRUCTIONS and not _instruction_code(line.item.instruction):
        label = SPECIAL_LABELS[line.rule.special]
        message = f"{line.written}应{label}，请注明“{label}”。"
        yield finding("decoction.instruction_missing", [line.written], message, line.rule.source)


# --- across lines and the whole prescription ------------------------------------------------------


def check_duplicate_herbs(ctx: Context) -> Iterator[Finding]:
    by_base: dict[str, list[str]] = {}
    for line in ctx.lines:
        by_base.setdefault(line.rule.base, []).append(line.written)
    for base, written_names in by_base.items():
        if len(written_names) > 1:
            yield finding(
                "duplicate.herb",
                written_names,
                f"{'、'.join(written_names)}同属{base}，重复开具，请合并或删除。",
                "《医疗机构处方审核规范》重复用药",
            )


def _incompatible_pairs(ctx: Context, *, eighteen: bool) -> Iterator[tuple[str, str, str]]:
    """(written a, written b, source) for each pair of lines in an incompatibility rule of the kind."""
    for rule in ctx.rules.incompatibilities:
        if (rule.kind == "eighteen") != eighteen:
            continue
        side_a = [line.written for line in ctx.lines if line.rule.name in rule.group_a]
        side_b = [line.written for line in ctx.lines if line.rule.name in rule.group_b]
        for a in side_a:
            for b in side_b:
                if a != b:
                    yield a, b, rule.source


def check_eighteen_incompatibilities(ctx: Context) -> Iterator[Finding]:
    for a, b, source in _incompatible_pairs(ctx, eighteen=True):
        message = f"{a}与{b}属十八反，不宜同用；确需同用须医师双签名。"
        yield finding("incompatibility.eighteen", [a, b], message, source)


def check_nineteen_incompatibilities(ctx: Context) -> Iterator[Finding]:
    for a, b, source in _incompatible_pairs(ctx, eighteen=False):
        message = f"{a}与{b}属十九畏，不宜同用；确需同用须医师双签名。"
        yield finding("incompatibility.nineteen", [a, b], message, source)


def check_custom_pairs(ctx: Context) -> Iterator[Finding]:
    for pair in ctx.rules.custom_pairs:
        side_a = [line.written for line in ctx.lines if line.rule.name == pair.herb_a]
        side_b = [line.written for line in ctx.lines if line.rule.name == pair.herb_b]
        for a in side_a:
            for b in side_b:
                yield finding("custom.pair", [a, b], pair.message, pair.source, severity=pair.severity)


def check_too_many_doses(ctx: Context) -> Iterator[Finding]:
    doses = ctx.draft.doses
    if doses > ctx.rules.max_doses_without_reason:
        message = f"共 {doses} 剂，超过7日用量，请在备注中注明理由。"
        yield finding("doses.too_many", [], message, "《处方管理办法》第十九条")


# The rule tables: finding code → check, in reporting order. Names first, then every line rule
# for line 1, then for line 2, …, then the rules across lines.
NAME_RULES = {
    "catalog.unknown": check_unknown_herbs,
    "allergy.unrecognised": check_allergy_unrecognised,
}
LINE_RULES = {
    "herb.inactive": check_inactive_herb,
    "route.external_only": check_external_only,
    "allergy": check_allergy,
    "dose.over_max": check_dose_over_max,
    "dose.under_min": check_dose_under_min,
    "pediatric.dose": check_pediatric_dose,
    "elderly.dose": check_elderly_dose,
    "pregnancy.forbidden": check_pregnancy_forbidden,
    "pregnancy.caution": check_pregnancy_caution,
    "toxic.herb": check_toxic_herb,
    "toxic.days_limit": check_toxic_days_limit,
    "decoction.instruction_missing": check_instruction_missing,
}
PRESCRIPTION_RULES = {
    "duplicate.herb": check_duplicate_herbs,
    "incompatibility.eighteen": check_eighteen_incompatibilities,
    "incompatibility.nineteen": check_nineteen_incompatibilities,
    "custom.pair": check_custom_pairs,
    "doses.too_many": check_too_many_doses,
}
RULES = {**NAME_RULES, **LINE_RULES, **PRESCRIPTION_RULES}
