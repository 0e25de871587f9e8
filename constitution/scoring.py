"""Scoring of ZYYXH/T 157-2009: raw score, transformed score and judgement per type, and the
overall result. Pure functions on plain values; the questionnaire comes from questionnaire.py.

Answers are {item id: 1..5} (没有 1 … 总是 5); a reverse-scored item counts 6 − answer. Per type,
over the items the patient's sex is asked: raw = the sum, transformed = (raw − n) / (4n) × 100.

Rounding: the standard gives the formula and integer thresholds (≥ 40, 30–39, < 30; 平和 ≥ 60) and
no rounding step. We judge on the exact value (a Fraction), so "30–39" reads 30 ≤ score < 40 and a
score of 39.6 is 倾向是, not 是; the score is shown rounded to one decimal. With 6, 7 or 8 items no
answer set reaches exactly 30, 40 or 60 (e.g. 8 items: 30 needs raw 17.6), so the thresholds
themselves are tested on judge_biased / judge_balanced and the answer sets on the nearest scores."""

from dataclasses import dataclass
from fractions import Fraction

from . import questionnaire

YES = "yes"  # 是
BASICALLY = "basically"  # 基本是 (平和质 only)
TENDENCY = "tendency"  # 倾向是 (偏颇 types only)
NO = "no"  # 否
JUDGEMENT_LABELS = {YES: "是", BASICALLY: "基本是", TENDENCY: "倾向是", NO: "否"}
BALANCED = "balanced"


class IncompleteAnswers(ValueError):
    """The answers miss items (`missing`) or hold values other than 1..5 (`invalid`): every bad
    item id is listed, so a form can mark them all at once."""

    def __init__(self, *, missing: list[str], invalid: list[str]):
        self.missing, self.invalid = missing, invalid
        super().__init__(f"missing items: {missing}; invalid answers: {invalid}")


@dataclass(frozen=True)
class TypeScore:
    code: str
    name: str
    items: int
    raw: int
    transformed: Fraction
    judgement: str

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "items": self.items,
            "raw": self.raw,
            "score": round(float(self.transformed), 1),
            "judgement": self.judgement,
            "label": JUDGEMENT_LABELS[self.judgement],
        }


def transformed(raw: int, items: int) -> Fraction:
    return Fraction(raw - items, items * 4) * 100


def judge_biased(score) -> str:
    """One of the eight 偏颇 types: ≥ 40 是, 30 ≤ score < 40 倾向是, < 30 否."""
    limits = questionnaire.data()["thresholds"]
    if score >= limits["biased_yes_min"]:
        return YES
    if score >= limits["biased_tendency_min"]:
        return TENDENCY
    return NO


def judge_balanced(score, others) -> str:
    """平和质: 是 when it is ≥ 60 and every other type < 30; 基本是 when ≥ 60 and every other < 40;
    else 否."""
    limits = questionnaire.data()["thresholds"]
    others = list(others)
    if score < limits["balanced_min"]:
        return NO
    if all(other < limits["balanced_yes_others_below"] for other in others):
        return YES
    if all(other < limits["balanced_basic_others_below"] for other in others):
        return BASICALLY
    return NO


def check_answers(answers: dict, sex: str) -> dict[str, int]:
    """The answers for `sex` as {item id: int}; IncompleteAnswers listing every missing item and
    every answer that is not an integer 1..5. Items the sex is not asked are ignored."""
    wanted = questionnaire.item_ids_for(sex)
    missing = [item for item in wanted if answers.get(item) in (None, "")]
    cleaned, invalid = {}, []
    for item in wanted:
        if item in missing:
            continue
        value = answers[item]
        if isinstance(value, bool) or str(value).strip() not in {"1", "2", "3", "4", "5"}:
            invalid.append(item)
        else:
            cleaned[item] = int(str(value).strip())
    if missing or invalid:
        raise IncompleteAnswers(missing=missing, invalid=invalid)
    return cleaned


def judge_all(scores: dict[str, object]) -> dict[str, str]:
    """{type code: transformed score} → {type code: judgement}, by the standard's table."""
    others = [value for code, value in scores.items() if code != BALANCED]
    return {
        code: judge_balanced(value, others) if code == BALANCED else judge_biased(value)
        for code, value in scores.items()
    }


def score(answers: dict, sex: str) -> list[TypeScore]:
    """Each type's score and judgement, 平和质 first; raises IncompleteAnswers (see check_answers)."""
    cleaned = check_answers(answers, sex)
    raw = {}
    for entry in questionnaire.types():
        rows = [row for row in entry.items if row.item in cleaned]
        raw[entry.code] = (sum(6 - cleaned[row.item] if row.reverse else cleaned[row.item] for row in rows), len(rows))
    scores = {code: transformed(total, count) for code, (total, count) in raw.items()}
    judgements = judge_all(scores)
    return [
        TypeScore(
            entry.code, entry.name, raw[entry.code][1], raw[entry.code][0], scores[entry.code], judgements[entry.code]
        )
        for entry in questionnaire.types()
    ]


def overall(scores: list[TypeScore]) -> dict:
    """The result as the standard states it: 平和质 (是 or 基本是) with any 倾向 types, or the 偏颇
    types that are 是 and those 倾向是. `primary` are the codes to show first (the types that are
    是, or 平和质); `summary` is the sentence for the patient."""
    balanced = next(entry for entry in scores if entry.code == BALANCED)
    biased = sorted((entry for entry in scores if entry.code != BALANCED), key=lambda e: -e.transformed)
    yes = [entry for entry in biased if entry.judgement == YES]
    tendency = [entry for entry in biased if entry.judgement == TENDENCY]
    if balanced.judgement in (YES, BASICALLY):
        primary = [balanced]
        summary = JUDGEMENT_LABELS[balanced.judgement] + balanced.name
    elif yes:
        primary = yes
        summary = "是" + "、".join(entry.name for entry in yes)
    else:
        primary = []
        summary = "未判定为平和质，也无偏颇体质达到“是”"
    if tendency:
        summary += "；有" + "、".join(entry.name for entry in tendency) + "倾向"
    return {
        "primary": [entry.code for entry in primary],
        "tendencies": [entry.code for entry in tendency],
        "summary": summary,
    }


def assess(answers: dict, sex: str) -> dict:
    """Scores and overall result as JSON values: {"scores": [...], "result": {...}}."""
    scores = score(answers, sex)
    return {"scores": [entry.as_dict() for entry in scores], "result": overall(scores)}
