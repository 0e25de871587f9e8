"""What every rule module shares: a resolved herb line, the audit context, and the finding
constructor. Pure: no database access."""

from dataclasses import dataclass, field
from decimal import Decimal

from .data import (
    CODES,
    LABEL_TO_SPECIAL,
    AgeBand,
    Finding,
    HerbRule,
    Item,
    PatientContext,
    PrescriptionDraft,
    RuleSnapshot,
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
    child_factor: Decimal | None = None  # a child's share of the adult bounds, None for adults
    child_basis: str = ""  # how the share was found, e.g. "按体重18kg折算（成人60kg）"
    # The other prescriptions' lines, resolved and grouped once for the cross rules (rules.cross).
    cross_lines: dict = field(default_factory=dict, compare=False, repr=False)


def finding(code: str, herbs, message: str, source: str, severity: str | None = None) -> Finding:
    return Finding(code, severity or CODES[code][0], tuple(herbs), message, source)


def grams_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def instruction_codes(instruction: str) -> set[str]:
    """The decoction methods an instruction names: a code, a Chinese label, or labels inside a
    longer text (先煎久煎 → {decoct_first}). Empty for no instruction or an unknown word."""
    text = (instruction or "").strip()
    if not text:
        return set()
    if text in LABEL_TO_SPECIAL.values():
        return {text}
    return {code for label, code in LABEL_TO_SPECIAL.items() if label in text}
