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
    "allergy.unrecognised": (Severity.WARN, "过敏药名无法识别"),
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


# A patient is a child below this age (years): the pediatric dose rules, and the decoction
# centre's ml per bag for children, both read it from here.
CHILD_BELOW_YEARS = 14


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
    _by_base: dict = field(default_factory=dict, compare=False, repr=False)

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

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        """The inverse of as_dict (findings stored as JSON)."""
        return cls(data["code"], data["severity"], tuple(data["herbs"]), data["message"], data["source"])
