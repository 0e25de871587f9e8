"""The audit rules, one function per finding code, and the tables that list them in the order
their findings are reported (before `engine.audit` sorts them by severity).

A name rule takes the context; a line rule takes the context and one resolved herb line; a
prescription rule takes the context. Each yields Findings. Pure: no database access."""

from collections.abc import Iterator
from decimal import Decimal

from .base import Context, Line, finding
from .base import grams_text as _g
from .data import ADULT_WEIGHT_KG, AgeBand, Finding, PatientContext, PrescriptionDraft, RuleSnapshot, Severity
from .doses import (
    check_dose_no_range,
    check_dose_over_max,
    check_dose_under_min,
    check_elderly_dose,
    check_pediatric_dose,
    check_pediatric_forbidden,
    check_toxic_cumulative,
    check_toxic_days_limit,
)
from .inputs import check_invalid_input
from .methods import (
    check_instruction_missing,
    check_instruction_wrong,
    check_not_for_decoction,
    check_raw_in_decoction,
)

__all__ = ["Context", "Line", "context", "finding"]


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
    child = age is not None and 0 <= age < rules.child_below_years
    band = next((b for b in rules.age_bands if child and age < b.below_years), None)
    factor, basis = _child_share(patient, band) if child else (None, "")
    return Context(
        draft=draft,
        patient=patient,
        rules=rules,
        lines=lines,
        allergy_bases=frozenset(allergy_bases),
        unrecognised_allergies=tuple(unrecognised),
        band=band,
        elderly=age is not None and age >= rules.elderly_from_years,
        child_factor=factor,
        child_basis=basis,
    )


def _child_share(patient: PatientContext, band: AgeBand | None) -> tuple[Decimal | None, str]:
    """A child's share of the adult dose bounds: by weight when it is known (adult × weight / 60 kg,
    never above the adult bound), else by the age band's factor."""
    weight = patient.weight_kg
    if weight is not None and weight > 0:
        factor = min(Decimal(weight) / ADULT_WEIGHT_KG, Decimal(1))
        return factor, f"按体重{_g(Decimal(weight))}kg折算（成人{ADULT_WEIGHT_KG}kg）"
    if band is not None:
        return band.factor, f"{band.label}按年龄折算（成人量×{band.factor:.2f}）"
    return None, ""


TEXTBOOK = "《中药学》（第七版）"


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
        why = f"：{line.rule.inactive_reason}" if line.rule.inactive_reason else "（已停用或不得调剂）"
        message = f"{line.written}不得调剂{why}。请换用其他药。"
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


def check_pregnancy_forbidden(ctx: Context, line: Line) -> Iterator[Finding]:
    """The 药典's 禁用/忌用 blocks; a textbook-only row informs; the 峻下逐水 class warns at least,
    citing the textbook, when the 药典 row itself says nothing about pregnancy."""
    rule = line.rule
    if not ctx.patient.pregnant:
        return
    listed = rule.pregnancy in ("forbidden", "avoid")
    if listed and rule.pregnancy_from_pharmacopoeia:
        level = "禁用" if rule.pregnancy == "forbidden" else "忌用"
        yield finding("pregnancy.forbidden", [line.written], f"{line.written}孕妇{level}，请删除或换药。", rule.source)
    elif rule.drastic_purgative:
        message = f"{line.written}属峻下逐水药，《中药学》列为孕妇禁用，请删除或换药。"
        yield finding("pregnancy.forbidden", [line.written], message, TEXTBOOK, severity=Severity.WARN)
    elif listed:
        level = "禁用" if rule.pregnancy == "forbidden" else "忌用"
        message = f"{line.written}：《中药学》列为孕妇{level}（药典未列），请权衡。"
        yield finding("pregnancy.forbidden", [line.written], message, TEXTBOOK, severity=Severity.INFO)


def check_pregnancy_caution(ctx: Context, line: Line) -> Iterator[Finding]:
    rule = line.rule
    if ctx.patient.pregnant and rule.pregnancy == "caution" and not rule.drastic_purgative:
        from_pharmacopoeia = rule.pregnancy_from_pharmacopoeia
        whose = "" if from_pharmacopoeia else "（《中药学》，药典未列）"
        yield finding(
            "pregnancy.caution",
            [line.written],
            f"{line.written}孕妇慎用{whose}，确需使用请权衡并告知患者。",
            rule.source if from_pharmacopoeia else TEXTBOOK,
            severity=None if from_pharmacopoeia else Severity.INFO,
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


def check_duplicate_herbs(ctx: Context) -> Iterator[Finding]:
    """The same 药典 monograph in two forms (白术 + 麸炒白术). Distinct monographs used together
    (地黄 + 熟地黄, 人参 + 红参, 干姜 + 生姜) are not duplicates."""
    by_monograph: dict[str, list[str]] = {}
    for line in ctx.lines:
        by_monograph.setdefault(line.rule.monograph or line.rule.base, []).append(line.written)
    for monograph, written_names in by_monograph.items():
        if len(written_names) > 1:
            yield finding(
                "duplicate.herb",
                written_names,
                f"{'、'.join(written_names)}同为{monograph}的饮片，重复开具；如非有意同用，请合并或删除。",
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
# for line 1, then for line 2, …, then the rules across lines. The checks live by theme in
# rules.checks (names, safety, combinations), rules.doses, rules.methods and rules.inputs.
NAME_RULES = {
    "input.invalid": check_invalid_input,
    "catalog.unknown": check_unknown_herbs,
    "allergy.unrecognised": check_allergy_unrecognised,
}
LINE_RULES = {
    "herb.inactive": check_inactive_herb,
    "route.external_only": check_external_only,
    "toxic.raw_in_decoction": check_raw_in_decoction,
    "allergy": check_allergy,
    "pediatric.forbidden": check_pediatric_forbidden,
    "dose.no_range": check_dose_no_range,
    "dose.over_max": check_dose_over_max,
    "dose.under_min": check_dose_under_min,
    "pediatric.dose": check_pediatric_dose,
    "elderly.dose": check_elderly_dose,
    "pregnancy.forbidden": check_pregnancy_forbidden,
    "pregnancy.caution": check_pregnancy_caution,
    "toxic.herb": check_toxic_herb,
    "toxic.days_limit": check_toxic_days_limit,
    "decoction.instruction_missing": check_instruction_missing,
    "decoction.instruction_wrong": check_instruction_wrong,
    "decoction.not_for_decoction": check_not_for_decoction,
}
PRESCRIPTION_RULES = {
    "duplicate.herb": check_duplicate_herbs,
    "toxic.cumulative": check_toxic_cumulative,
    "incompatibility.eighteen": check_eighteen_incompatibilities,
    "incompatibility.nineteen": check_nineteen_incompatibilities,
    "custom.pair": check_custom_pairs,
    "doses.too_many": check_too_many_doses,
}
RULES = {**NAME_RULES, **LINE_RULES, **PRESCRIPTION_RULES}
