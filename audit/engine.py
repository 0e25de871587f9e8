"""The pre-audit rule engine: a pure function of (prescription, patient, rule snapshot) → findings.

No database access here. A RuleSnapshot is built once per rule version (audit.rules) from plain
data and is immutable; the same engine serves the live warnings in the editor, the Celery audit,
the what-if replay and `manage.py audit_check`.

Names: every finding lists herbs exactly as written in the prescription (炙甘草, not 甘草). A
written name resolves to a catalogue herb directly or through the alias table; processed forms
share their base herb's group (炙甘草 → 甘草, 法半夏 → 半夏, 制川乌/附子 → 乌头).
"""

import difflib
from dataclasses import dataclass, field
from decimal import Decimal

from catalogue.pinyin import compact, guess_pinyin

ENGINE_VERSION = "1.0"


class Severity:
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"
    ORDER = {BLOCK: 0, WARN: 1, INFO: 2}


# The finding vocabulary: code → (severity, meaning). docs/… and the pages read this table.
CODES: dict[str, tuple[str, str]] = {
    "incompatibility.eighteen": (Severity.BLOCK, "十八反：两味相反的药同方"),
    "incompatibility.nineteen": (Severity.BLOCK, "十九畏：两味相畏的药同方"),
    "pregnancy.forbidden": (Severity.BLOCK, "孕妇禁用或忌用的药"),
    "pregnancy.caution": (Severity.WARN, "孕妇慎用的药"),
    "dose.over_max": (Severity.BLOCK, "单味日剂量超过药典上限"),
    "dose.under_min": (Severity.INFO, "单味日剂量低于药典下限"),
    "toxic.herb": (Severity.WARN, "医疗用毒性药品或大毒饮片"),
    "toxic.days_limit": (Severity.BLOCK, "毒性药品超过二日极量"),
    "decoction.instruction_missing": (Severity.WARN, "需特殊煎法的药未注明煎法"),
    "duplicate.herb": (Severity.WARN, "同一母药重复开具"),
    "pediatric.dose": (Severity.WARN, "儿童剂量超过按年龄折算的上限"),
    "elderly.dose": (Severity.INFO, "老年人剂量接近或超过成人上限"),
    "allergy": (Severity.BLOCK, "患者对该药过敏"),
    "catalog.unknown": (Severity.BLOCK, "目录中没有这味药"),
    "herb.inactive": (Severity.BLOCK, "该药已停用或不得调剂"),
    "route.external_only": (Severity.BLOCK, "仅供外用的药开入内服汤剂"),
    "doses.too_many": (Severity.INFO, "剂数超过7日用量，需注明理由"),
    "custom.pair": (Severity.WARN, "本院自定义配伍提示"),
}

SPECIAL_LABELS = {
    "decoct_first": "先煎",
    "add_later": "后下",
    "wrap": "包煎",
    "melt": "烊化",
    "decoct_separately": "另煎",
    "infuse": "冲服",
    "decoct_as_water": "煎汤代水",
}
LABEL_TO_SPECIAL = {label: code for code, label in SPECIAL_LABELS.items()}
# Instructions whose absence the engine reports (煎汤代水 is a way of preparing, not a must).
REQUIRED_INSTRUCTIONS = {"decoct_first", "add_later", "wrap", "melt", "decoct_separately", "infuse"}


@dataclass(frozen=True)
class HerbRule:
    name: str
    base: str
    dose_min: Decimal | None
    dose_max: Decimal | None
    toxicity: str  # "" / slight / toxic / high
    special: str  # code of SPECIAL_LABELS or ""
    pregnancy: str  # "" / forbidden / avoid / caution
    pregnancy_from_pharmacopoeia: bool
    external_only: bool
    active: bool
    toxic_listed: bool
    source: str = "中国药典2020年版一部"
    pinyin: str = ""  # compact, e.g. "gancao"


@dataclass(frozen=True)
class IncompatibilityRule:
    kind: str  # eighteen / nineteen
    group_a: frozenset
    group_b: frozenset
    source: str


@dataclass(frozen=True)
class AgeBand:
    below_years: Decimal
    factor: Decimal
    label: str


@dataclass(frozen=True)
class CustomPairRule:
    herb_a: str
    herb_b: str
    severity: str
    message: str
    source: str


@dataclass(frozen=True)
class RuleSnapshot:
    version: int
    herbs: dict  # name → HerbRule
    aliases: dict  # alias → name
    incompatibilities: tuple
    age_bands: tuple  # ascending by below_years
    custom_pairs: tuple = ()
    child_below_years: Decimal = Decimal(14)
    elderly_from_years: Decimal = Decimal(65)
    elderly_factor: Decimal = Decimal("0.8")
    max_doses_without_reason: int = 7
    toxic_days: int = 2
    _by_base: dict = field(default_factory=dict, compare=False, repr=False)

    def resolve(self, written: str) -> HerbRule | None:
        name = written.strip()
        name = self.aliases.get(name, name)
        return self.herbs.get(name)

    def suggest(self, written: str, limit: int = 3) -> list[str]:
        """Catalogue names close to an unknown one: same sound first (甘艹 → 甘草), then look-alikes."""
        sound = compact(guess_pinyin(written))
        names = [h.name for h in self.herbs.values() if h.active and sound and h.pinyin == sound]
        candidates = list(self.herbs) + list(self.aliases)
        close = difflib.get_close_matches(written, candidates, n=limit * 2, cutoff=0.4)
        for candidate in close:
            name = self.aliases.get(candidate, candidate)
            if name not in names and self.herbs[name].active:
                names.append(name)
        return names[:limit]


@dataclass(frozen=True)
class PatientContext:
    sex: str = ""
    age_years: Decimal | None = None
    pregnant: bool = False
    allergies: tuple = ()
    weight_kg: Decimal | None = None


@dataclass(frozen=True)
class Item:
    herb: str
    grams: Decimal
    instruction: str = ""  # a code of SPECIAL_LABELS, its Chinese label, or ""


@dataclass(frozen=True)
class PrescriptionDraft:
    doses: int
    items: tuple


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    herbs: tuple
    message: str
    source: str

    @property
    def key(self) -> str:
        """Identifies the finding within one prescription (for signatures and overrides)."""
        return f"{self.code}:{'+'.join(self.herbs)}"

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "herbs": list(self.herbs),
            "message": self.message,
            "source": self.source,
        }


def _g(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _instruction_code(instruction: str) -> str:
    instruction = (instruction or "").strip()
    return LABEL_TO_SPECIAL.get(instruction, instruction)


def audit(draft: PrescriptionDraft, patient: PatientContext, rules: RuleSnapshot) -> list[Finding]:
    """All findings for `draft`, most severe first. Pure: the same inputs give the same list."""
    findings: list[Finding] = []

    def add(code, herbs, message, source, severity=None):
        findings.append(Finding(code, severity or CODES[code][0], tuple(herbs), message, source))

    resolved: list[tuple[Item, HerbRule]] = []
    for item in draft.items:
        rule = rules.resolve(item.herb)
        if rule is None:
            suggestions = rules.suggest(item.herb)
            hint = f"，是否为：{'、'.join(suggestions)}？" if suggestions else "，请从目录中选择。"
            add("catalog.unknown", [item.herb], f"饮片目录中没有“{item.herb}”{hint}", "本平台饮片目录")
            continue
        resolved.append((item, rule))

    allergy_bases = set()
    for name in patient.allergies:
        rule = rules.resolve(name)
        allergy_bases.add(rule.base if rule else name.strip())

    child = patient.age_years is not None and patient.age_years < rules.child_below_years
    elderly = patient.age_years is not None and patient.age_years >= rules.elderly_from_years
    band = next((b for b in rules.age_bands if child and patient.age_years < b.below_years), None)

    for item, rule in resolved:
        written, grams = item.herb, Decimal(item.grams)
        if not rule.active:
            add("herb.inactive", [written], f"{written}已停用或不得调剂，请换用其他药。", rule.source)
        if rule.external_only:
            add("route.external_only", [written], f"{written}仅供外用，不能入内服汤剂。", rule.source)
        if rule.base in allergy_bases:
            add("allergy", [written], f"患者对{written}（{rule.base}类）过敏，请删除或换药。", "患者过敏史")
        if rule.dose_max is not None and grams > rule.dose_max:
            add(
                "dose.over_max",
                [written],
                f"{written} {_g(grams)}g 超过成人日用量上限 {_g(rule.dose_max)}g；确需超量须医师双签名并注明理由。",
                rule.source,
            )
        elif rule.dose_min is not None and grams < rule.dose_min:
            add(
                "dose.under_min",
                [written],
                f"{written} {_g(grams)}g 低于常用量下限 {_g(rule.dose_min)}g，请确认。",
                rule.source,
            )
        if band is not None and rule.dose_max is not None and grams > rule.dose_max * band.factor:
            limit = (rule.dose_max * band.factor).quantize(Decimal("0.1"))
            add(
                "pediatric.dose",
                [written],
                f"{band.label}患儿{written} {_g(grams)}g 超过按年龄折算的上限约 {_g(limit)}g"
                f"（成人量×{band.factor:.2f}），请减量。",
                "《中药学》儿童用量折算",
            )
        if elderly and rule.dose_max is not None and grams > rule.dose_max * rules.elderly_factor:
            add(
                "elderly.dose",
                [written],
                f"老年患者{written} {_g(grams)}g 接近或超过成人上限 {_g(rule.dose_max)}g，请酌情减量。",
                "《医疗机构处方审核规范》特殊人群用药",
            )
        if patient.pregnant and rule.pregnancy in ("forbidden", "avoid"):
            level = "禁用" if rule.pregnancy == "forbidden" else "忌用"
            add(
                "pregnancy.forbidden",
                [written],
                f"{written}孕妇{level}，请删除或换药。",
                rule.source if rule.pregnancy_from_pharmacopoeia else "《中药学》教材",
                severity=None if rule.pregnancy_from_pharmacopoeia else Severity.WARN,
            )
        elif patient.pregnant and rule.pregnancy == "caution":
            add(
                "pregnancy.caution",
                [written],
                f"{written}孕妇慎用，确需使用请权衡并告知患者。",
                rule.source if rule.pregnancy_from_pharmacopoeia else "《中药学》教材",
            )
        if rule.toxic_listed or rule.toxicity == "high":
            why = "医疗用毒性药品" if rule.toxic_listed else "大毒饮片"
            add(
                "toxic.herb",
                [written],
                f"{written}为{why}，须严格掌握剂量并由药师双人核对。",
                "《医疗用毒性药品管理办法》（1988）" if rule.toxic_listed else rule.source,
            )
        if rule.toxic_listed and rule.dose_max is not None:
            limit = rule.dose_max * rules.toxic_days
            if grams * draft.doses > limit:
                add(
                    "toxic.days_limit",
                    [written],
                    f"{written}共 {_g(grams * draft.doses)}g，超过二日极量 {_g(limit)}g，请减少剂数或剂量。",
                    "《医疗用毒性药品管理办法》第九条",
                )
        if rule.special in REQUIRED_INSTRUCTIONS and not _instruction_code(item.instruction):
            label = SPECIAL_LABELS[rule.special]
            add("decoction.instruction_missing", [written], f"{written}应{label}，请注明“{label}”。", rule.source)

    by_base: dict[str, list[str]] = {}
    for item, rule in resolved:
        by_base.setdefault(rule.base, []).append(item.herb)
    for base, written_names in by_base.items():
        if len(written_names) > 1:
            add(
                "duplicate.herb",
                written_names,
                f"{'、'.join(written_names)}同属{base}，重复开具，请合并或删除。",
                "《医疗机构处方审核规范》重复用药",
            )

    names = [(item.herb, rule.name) for item, rule in resolved]
    for incompatibility in rules.incompatibilities:
        side_a = [written for written, name in names if name in incompatibility.group_a]
        side_b = [written for written, name in names if name in incompatibility.group_b]
        for a in side_a:
            for b in side_b:
                if a == b:
                    continue
                if incompatibility.kind == "eighteen":
                    add(
                        "incompatibility.eighteen",
                        [a, b],
                        f"{a}与{b}属十八反，不宜同用；确需同用须医师双签名。",
                        incompatibility.source,
                    )
                else:
                    add(
                        "incompatibility.nineteen",
                        [a, b],
                        f"{a}与{b}属十九畏，不宜同用；确需同用须医师双签名。",
                        incompatibility.source,
                    )
    for pair in rules.custom_pairs:
        side_a = [written for written, name in names if name == pair.herb_a]
        side_b = [written for written, name in names if name == pair.herb_b]
        for a in side_a:
            for b in side_b:
                add("custom.pair", [a, b], pair.message, pair.source, severity=pair.severity)

    if draft.doses > rules.max_doses_without_reason:
        add("doses.too_many", [], f"共 {draft.doses} 剂，超过7日用量，请在备注中注明理由。", "《处方管理办法》第十九条")

    findings.sort(key=lambda f: Severity.ORDER[f.severity])
    return findings


def risk_level(findings: list[Finding]) -> str:
    """none / low / high: high when anything blocks, low when there are warnings only."""
    severities = {finding.severity for finding in findings}
    if Severity.BLOCK in severities:
        return "high"
    if Severity.WARN in severities:
        return "low"
    return "none"
