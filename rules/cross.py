"""The rules across prescriptions: the draft against the same patient's other active
prescriptions of the last 7 days (`PrescriptionDraft.others`, any institution of the county).
One function per finding code, listed in CROSS_RULES; the engine runs the table only when the
draft carries others. Each finding names the draft's herbs as written and the other
prescriptions by number. Pure: no database access.

Only the draft is judged: pairs within one other prescription were checked when it was written."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from .checks import Context, finding
from .data import Finding, HerbRule, RuleSnapshot

WINDOW = "近7日"


@dataclass(frozen=True)
class OtherLine:
    """A resolved herb line of another prescription, at `position` among all their lines."""

    number: str
    written: str
    grams: Decimal
    rule: HerbRule
    position: int = 0


def _other_lines(ctx: Context) -> dict:
    """{"by_name": herb → its lines, "by_monograph": monograph → its lines}, each list in the order
    the lines were written; resolved and grouped once per audit, so each rule reads only the
    groups it asks about, not every line of every other prescription."""
    if not ctx.cross_lines:
        by_name: dict[str, list[OtherLine]] = {}
        by_monograph: dict[str, list[OtherLine]] = {}
        items = (item for other in ctx.draft.others for item in other.items)
        numbers = (other.number for other in ctx.draft.others for _item in other.items)
        for position, (number, item) in enumerate(zip(numbers, items, strict=True)):
            rule = ctx.rules.resolve(item.herb)
            if rule is not None:  # an unknown name was refused when that prescription was written
                line = OtherLine(number, item.herb, Decimal(item.grams), rule, position)
                by_name.setdefault(rule.name, []).append(line)
                by_monograph.setdefault(_monograph(rule), []).append(line)
        ctx.cross_lines.update(by_name=by_name, by_monograph=by_monograph)
    return ctx.cross_lines


def _monograph(rule: HerbRule) -> str:
    """The 药典 monograph a herb belongs to (its base herb where no monograph is recorded)."""
    return getattr(rule, "monograph", "") or rule.base


def _toxic(rule: HerbRule) -> bool:
    """A herb whose daily grams are summed across prescriptions: on the 28-item list or 有毒/大毒,
    with a daily maximum."""
    return (rule.toxic_listed or rule.toxicity in ("toxic", "high")) and rule.dose_max is not None


def relevant_names(rules: RuleSnapshot, herbs: Iterable[str]) -> frozenset[str]:
    """The names, as the patient's other prescriptions may write them, of the lines the rules
    below can use against a draft of `herbs` (names as written): the herbs opposite them in
    十八反/十九畏, the herbs of their monographs and the toxic ones themselves, each under every name
    that resolves to it (catalogue name, alias, bare name). No other line of another prescription
    can give a finding with this draft, so the submit reads only these."""
    index = _cross_index(rules)
    targets: set[str] = set()
    for written in herbs:
        rule = rules.resolve(written)
        if rule is None:
            continue
        targets.update(index["monograph"].get(_monograph(rule), ()))
        targets.update(index["opposite"].get(rule.name, ()))
        if _toxic(rule):
            targets.add(rule.name)
    return frozenset(name for target in targets for name in index["written"].get(target, ()))


def _cross_index(rules: RuleSnapshot) -> dict:
    """{"written": herb → every name that resolves to it, "monograph": monograph → its herbs,
    "opposite": herb → the herbs opposite it in 十八反/十九畏}, built once per snapshot."""
    if not rules._cross_index:
        written, monographs, opposite = {}, {}, {}
        for name in (*rules.herbs, *rules.aliases, *rules.bare_names):
            rule = rules.resolve(name)
            if rule is not None:
                written.setdefault(rule.name, set()).add(name)
        for rule in rules.herbs.values():
            monographs.setdefault(_monograph(rule), set()).add(rule.name)
        for pair in rules.incompatibilities:
            for side, other_side in ((pair.group_a, pair.group_b), (pair.group_b, pair.group_a)):
                for name in side:
                    opposite.setdefault(name, set()).update(other_side)
        rules._cross_index.update(written=written, monograph=monographs, opposite=opposite)
    return rules._cross_index


def _numbers(lines) -> str:
    return "、".join(dict.fromkeys(line.number for line in lines))


def _g(value: Decimal) -> str:
    return f"{value.normalize():f}"


def check_cross_incompatibility(ctx: Context) -> Iterator[Finding]:
    """十八反/十九畏 between a herb of the draft and a herb of another active prescription."""
    by_name = _other_lines(ctx)["by_name"]
    for rule in ctx.rules.incompatibilities:
        kind = "十八反" if rule.kind == "eighteen" else "十九畏"
        for side, opposite in ((rule.group_a, rule.group_b), (rule.group_b, rule.group_a)):
            present = sorted((other for name in opposite for other in by_name.get(name, ())), key=lambda o: o.position)
            for line in ctx.lines:
                if line.rule.name not in side:
                    continue
                against: dict[str, list[OtherLine]] = {}
                for other in present:
                    against.setdefault(other.written, []).append(other)
                for written, found in against.items():
                    message = (
                        f"{line.written}与患者{WINDOW}处方 {_numbers(found)} 中的{written}属{kind}，"
                        "不宜同期服用；确需使用须医师双签名。"
                    )
                    yield finding("cross.incompatibility", [line.written, written], message, rule.source)


def check_cross_duplicate(ctx: Context) -> Iterator[Finding]:
    """The same 药材 (monograph) in the draft and in another active prescription."""
    by_monograph = _other_lines(ctx)["by_monograph"]
    for line in ctx.lines:
        group = _monograph(line.rule)
        found = by_monograph.get(group, [])
        if found:
            written = list(dict.fromkeys(other.written for other in found))
            message = (
                f"{line.written}与患者{WINDOW}处方 {_numbers(found)} 中的{'、'.join(written)}同属{group}，"
                "重复用药，请核对是否需要同期服用。"
            )
            herbs = list(dict.fromkeys([line.written, *written]))  # one name when both are written alike
            yield finding("cross.duplicate", herbs, message, "《医疗机构处方审核规范》重复用药")


def check_cross_toxic_dose(ctx: Context) -> Iterator[Finding]:
    """A toxic herb (on the 28-item list, or 有毒/大毒 in the 药典, e.g. 附子, 制川乌) whose daily
    grams, summed over the draft and the other active prescriptions, exceed its daily maximum."""
    by_name = _other_lines(ctx)["by_name"]
    for line in ctx.lines:
        rule = line.rule
        if not _toxic(rule):
            continue
        found = by_name.get(rule.name, [])
        total = line.grams + sum((other.grams for other in found), Decimal(0))
        if found and total > rule.dose_max:
            message = (
                f"{line.written}本方每日 {_g(line.grams)}g，加上患者{WINDOW}处方 {_numbers(found)} 中的"
                f" {_g(total - line.grams)}g，合计每日 {_g(total)}g，超过日用量上限 {_g(rule.dose_max)}g。"
            )
            source = "《医疗用毒性药品管理办法》（1988）" if rule.toxic_listed else rule.source
            yield finding("cross.toxic_dose", [line.written], message, source)


# Finding code → check, in reporting order (engine.audit runs it when the draft has others).
CROSS_RULES = {
    "cross.incompatibility": check_cross_incompatibility,
    "cross.duplicate": check_cross_duplicate,
    "cross.toxic_dose": check_cross_toxic_dose,
}
