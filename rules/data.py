"""The engine's plain data: the finding vocabulary and the frozen values the rules read and
write (a rule snapshot, a patient, a draft, a finding). No database access, no Django."""

import difflib
from dataclasses import dataclass, field
from decimal import Decimal

from catalogue.pinyin import compact, guess_pinyin


class Severity:
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"
    ORDER = {BLOCK: 0, WARN: 1, INFO: 2}


# The finding vocabulary: code → (severity, Chinese title). The pages show the title, the API
# and `audit_check` keep the code; the README's table gives each code's meaning and source.
CODES: dict[str, tuple[str, str]] = {
    "input.invalid": (Severity.BLOCK, "输入有误"),
    "incompatibility.eighteen": (Severity.BLOCK, "十八反"),
    "incompatibility.nineteen": (Severity.BLOCK, "十九畏"),
    "pregnancy.forbidden": (Severity.BLOCK, "孕妇禁用"),
    "pregnancy.caution": (Severity.WARN, "孕妇慎用"),
    "dose.over_max": (Severity.BLOCK, "超药典上限"),
    "dose.under_min": (Severity.INFO, "低于常用量"),
    "dose.no_range": (Severity.BLOCK, "无剂量范围"),
    "toxic.herb": (Severity.WARN, "毒性药品"),
    "toxic.days_limit": (Severity.BLOCK, "超二日极量"),
    "toxic.cumulative": (Severity.WARN, "乌头类累积"),
    "toxic.raw_in_decoction": (Severity.BLOCK, "生品毒药入汤剂"),
    "decoction.instruction_missing": (Severity.WARN, "未注明煎法"),
    "decoction.instruction_wrong": (Severity.WARN, "煎法有误"),
    "decoction.not_for_decoction": (Severity.WARN, "不宜入煎剂"),
    "duplicate.herb": (Severity.WARN, "重复用药"),
    "pediatric.dose": (Severity.WARN, "儿童超量"),
    "pediatric.forbidden": (Severity.BLOCK, "儿童禁用"),
    "elderly.dose": (Severity.INFO, "老年用量偏大"),
    "allergy": (Severity.BLOCK, "过敏"),
    "allergy.unrecognised": (Severity.WARN, "过敏药名无法识别"),
    "catalog.unknown": (Severity.BLOCK, "目录外药名"),
    "herb.inactive": (Severity.BLOCK, "停用药品"),
    "route.external_only": (Severity.BLOCK, "外用药内服"),
    "doses.too_many": (Severity.INFO, "超7日用量"),
    "custom.pair": (Severity.WARN, "本院配伍提示"),
    # Across the same patient's other active prescriptions of the last 7 days (rules.cross).
    "cross.incompatibility": (Severity.BLOCK, "跨处方反畏"),
    "cross.duplicate": (Severity.WARN, "跨处方重复"),
    "cross.toxic_dose": (Severity.BLOCK, "跨处方毒药超量"),
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
    monograph: str = ""  # the ChP 2020 monograph (duplicates); the name itself when empty
    child_forbidden: bool = False
    decoction_use: str = ""  # catalogue.models.DecoctionUse: not_for_decoction / pills_only / … / ""
    method_conditional: bool = False  # the required method depends on the purpose (大黄 后下)
    methods_also_accepted: tuple = ()  # other instruction codes the 药典 allows (番泻叶: 冲服)
    inactive_reason: str = ""
    drastic_purgative: bool = False  # 峻下逐水
    aconite_alkaloid: bool = False  # 乌头类


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


# A patient is a child below this age (years): the pediatric dose rules, and the decoction
# centre's ml per bag for children, both read it from here.
CHILD_BELOW_YEARS = 14
# A child's dose bounds scale by weight when it is known: adult bound × weight / 60 kg (按成人
# 60kg体重折算, capped at the adult bound), else by the age band's factor.
ADULT_WEIGHT_KG = 60
# Values no patient or prescription can have (input.invalid).
MAX_AGE_YEARS = 130
MAX_WEIGHT_KG = 300


@dataclass(frozen=True)
class RuleSnapshot:
    version: int
    herbs: dict  # name → HerbRule
    aliases: dict  # alias → name
    incompatibilities: tuple
    age_bands: tuple  # ascending by below_years
    custom_pairs: tuple = ()
    child_below_years: Decimal = Decimal(CHILD_BELOW_YEARS)
    elderly_from_years: Decimal = Decimal(65)
    elderly_factor: Decimal = Decimal("0.8")
    max_doses_without_reason: int = 7
    toxic_days: int = 2
    # written bare name → herb dispensed (写川乌付制川乌); empty under the "literal" policy
    bare_names: dict = field(default_factory=dict)
    # Built on first use by rules.cross.relevant_names: herb → the names written for it, monograph
    # → its herbs.
    _cross_index: dict = field(default_factory=dict, compare=False, repr=False)

    def resolve(self, written: str) -> HerbRule | None:
        """The herb a line written so is dispensed as: the county's bare-name table first, then
        the catalogue name, then an alias (the submit's herb resolution reads them in that order)."""
        name = written.strip()
        name = self.bare_names.get(name) or self.aliases.get(name, name)
        return self.herbs.get(name)

    def resolve_literal(self, written: str) -> HerbRule | None:
        """The herb a name means read literally (an allergy to 川乌 is to 川乌, whatever is dispensed)."""
        name = written.strip()
        return self.herbs.get(self.aliases.get(name, name))

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
class OtherPrescription:
    """Another active prescription of the same patient (the cross-prescription rules read it)."""

    number: str
    doses: int
    items: tuple  # of Item


@dataclass(frozen=True)
class PrescriptionDraft:
    doses: int
    items: tuple
    others: tuple = ()  # of OtherPrescription


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

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        """The inverse of as_dict (findings stored as JSON)."""
        return cls(data["code"], data["severity"], tuple(data["herbs"]), data["message"], data["source"])
