"""The scoring of ZYYXH/T 157-2009 (constitution/scoring.py), hand-scored: each of the nine
types, the thresholds exactly and one point below, the sex-specific 湿热质 items, the standard's
own worked examples, and incomplete answer sets."""

from fractions import Fraction

import pytest

from constitution import questionnaire
from constitution.scoring import (
    BASICALLY,
    NO,
    TENDENCY,
    YES,
    IncompleteAnswers,
    TypeScore,
    assess,
    judge_all,
    judge_balanced,
    judge_biased,
    overall,
    score,
)

TYPE_ITEMS = {
    "qi_deficiency": ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8"],
    "yang_deficiency": ["C1", "C2", "C3", "C4", "B5", "C6", "C7"],
    "yin_deficiency": ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"],
    "phlegm_dampness": ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"],
    "damp_heat_F": ["F1", "F2", "F3", "F4", "F5", "F6"],
    "damp_heat_M": ["F1", "F2", "F3", "F4", "F5", "F7"],
    "blood_stasis": ["G1", "G2", "G3", "G4", "G5", "G6", "G7"],
    "qi_stagnation": ["H1", "H2", "H3", "H4", "H5", "H6", "H7"],
    "inherited_special": ["I1", "I2", "I3", "I4", "I5", "I6", "I7"],
}


def answers(sex="F", **values):
    """Every item of `sex` answered 没有 (1), then `values` ({item id: 1..5})."""
    base = dict.fromkeys(questionnaire.item_ids_for(sex), 1)
    base.update(values)
    return base


def by_code(scores):
    return {entry.code: entry for entry in scores}


def test_each_sex_answers_sixty_items_and_only_damp_heat_has_a_sex_specific_item():
    female, male = questionnaire.item_ids_for("F"), questionnaire.item_ids_for("M")

    assert len(female) == len(male) == 60
    assert set(female) - set(male) == {"F6"} and set(male) - set(female) == {"F7"}
    counts_f = {entry.code: entry.items for entry in score(answers("F"), "F")}
    counts_m = {entry.code: entry.items for entry in score(answers("M"), "M")}
    assert counts_f == counts_m
    assert counts_f == {
        "balanced": 8,
        "qi_deficiency": 8,
        "yang_deficiency": 7,
        "yin_deficiency": 8,
        "phlegm_dampness": 8,
        "damp_heat": 6,
        "blood_stasis": 7,
        "qi_stagnation": 7,
        "inherited_special": 7,
    }


def test_all_never_is_balanced_yes_scored_by_hand():
    # 平和: A1 1 + A2 1 + six reverse items at 6 − 1 = 5 → raw 32; (32 − 8) / 32 × 100 = 75.
    scores = by_code(score(answers(), "F"))

    assert (scores["balanced"].raw, scores["balanced"].transformed) == (32, 75)
    assert all(entry.transformed == 0 for code, entry in scores.items() if code != "balanced")
    assert scores["balanced"].judgement == YES
    assert overall(list(scores.values()))["summary"] == "是平和质"


def test_balanced_at_full_score_is_one_hundred():
    scores = by_code(score(answers("M", A1=5, A2=5), "M"))
    assert scores["balanced"].raw == 40 and scores["balanced"].transformed == 100


# Hand-scored: the type's own items at 经常 (4), everything else 没有 (1) → the type (n items):
# raw 4n, (4n − n) / 4n × 100 = 75. Items it shares move other types, computed by hand here.
NINE = [
    ("qi_deficiency", "F", {"balanced": Fraction(225, 4), "yang_deficiency": Fraction(75, 7)}, "是气虚质"),
    ("yang_deficiency", "F", {"balanced": Fraction(525, 8), "qi_deficiency": Fraction(75, 8)}, "是阳虚质"),
    ("yin_deficiency", "M", {"balanced": 75}, "是阴虚质"),
    ("phlegm_dampness", "M", {"balanced": 75}, "是痰湿质"),
    ("damp_heat_F", "F", {"balanced": 75}, "是湿热质"),
    ("damp_heat_M", "M", {"balanced": 75}, "是湿热质"),
    ("blood_stasis", "F", {"balanced": Fraction(525, 8)}, "是血瘀质"),
    ("qi_stagnation", "F", {"balanced": Fraction(525, 8)}, "是气郁质"),
    ("inherited_special", "M", {"balanced": 75}, "是特禀质"),
]


@pytest.mark.parametrize(("key", "sex", "moved", "summary"), NINE, ids=[row[0] for row in NINE])
def test_each_biased_type_answered_often_scores_75_and_is_yes(key, sex, moved, summary):
    code = key.removesuffix("_F").removesuffix("_M")
    scores = by_code(score(answers(sex, **dict.fromkeys(TYPE_ITEMS[key], 4)), sex))

    assert scores[code].transformed == 75 and scores[code].judgement == YES
    expected = {other: 0 for other in scores if other not in (code, "balanced")} | {"balanced": 75} | moved
    assert {other: entry.transformed for other, entry in scores.items() if other != code} == expected
    assert scores["balanced"].judgement == NO  # a biased type at ≥ 40 rules 平和质 out
    assert overall(list(scores.values())) == {"primary": [code], "tendencies": [], "summary": summary}


def test_the_item_of_the_other_sex_is_ignored_and_the_own_one_is_required():
    female = answers("F", F7=5)
    assert by_code(score(female, "F"))["damp_heat"].transformed == 0

    male = answers("M")
    del male["F7"]
    with pytest.raises(IncompleteAnswers) as caught:
        score(male, "M")
    assert caught.value.missing == ["F7"]


@pytest.mark.parametrize(
    ("value", "judgement"),
    [(40, YES), (Fraction(399, 10), TENDENCY), (39, TENDENCY), (30, TENDENCY), (Fraction(299, 10), NO), (29, NO)],
)
def test_a_biased_type_is_yes_from_40_tendency_from_30_and_no_below(value, judgement):
    assert judge_biased(value) == judgement


@pytest.mark.parametrize(
    ("balanced", "others", "judgement"),
    [
        (60, [29] * 8, YES),
        (60, [29] * 7 + [30], BASICALLY),
        (60, [39] * 8, BASICALLY),
        (60, [39] * 7 + [40], NO),
        (59, [0] * 8, NO),
        (Fraction(599, 10), [0] * 8, NO),
    ],
)
def test_balanced_is_yes_at_60_with_others_below_30_basically_below_40_else_no(balanced, others, judgement):
    assert judge_balanced(balanced, others) == judgement


def test_nearest_answer_sets_on_either_side_of_each_threshold():
    # 阴虚 (8 items): raw 17 → 28.125 否, raw 18 → 31.25 倾向是, raw 20 → 37.5 倾向是, raw 21 → 40.625 是.
    for raw, expected in [(17, NO), (18, TENDENCY), (20, TENDENCY), (21, YES)]:
        extra = raw - 8  # each step from 1 to 2 adds one point
        values = dict.fromkeys(TYPE_ITEMS["yin_deficiency"][: extra if extra <= 8 else 8], 2)
        if extra > 8:
            values.update(dict.fromkeys(TYPE_ITEMS["yin_deficiency"][: extra - 8], 3))
        entry = by_code(score(answers("F", **values), "F"))["yin_deficiency"]
        assert (entry.raw, entry.judgement) == (raw, expected)
    # 平和: A3 (失眠, reverse) at 5 → raw 28 → 62.5; with H1 at 2 as well → raw 27 → 59.375 否.
    assert by_code(score(answers(A3=5), "F"))["balanced"].transformed == Fraction(125, 2)
    assert by_code(score(answers(A3=5), "F"))["balanced"].judgement == YES
    low = by_code(score(answers(A3=5, H1=2), "F"))["balanced"]
    assert (low.transformed, low.judgement) == (Fraction(475, 8), NO)


def test_balanced_above_60_with_a_tendency_is_basically_balanced_with_that_tendency():
    # 平和 62.5 (A3 at 5); 阴虚 two at 3, six at 2: raw 18 → 31.25 倾向是.
    result = assess(answers("F", A3=5, D1=3, D2=3, D3=2, D4=2, D5=2, D6=2, D7=2, D8=2), "F")
    assert result["result"] == {
        "primary": ["balanced"],
        "tendencies": ["yin_deficiency"],
        "summary": "基本是平和质；有阴虚质倾向",
    }
    assert {row["code"]: row["score"] for row in result["scores"]}["yin_deficiency"] == 31.2


def scored(values: dict) -> list[TypeScore]:
    judgements = judge_all(values)
    names = questionnaire.type_names()
    return [TypeScore(code, names[code], 8, 0, value, judgements[code]) for code, value in values.items()]


def test_the_standards_worked_examples():
    codes = [entry.code for entry in questionnaire.types()]
    # 示例1: 平和 75 but 气虚 56 ≥ 40 → 是气虚质, not 平和质.
    first = overall(scored(dict(zip(codes, [75, 56, 27, 25, 12, 15, 20, 18, 10], strict=True))))
    assert first["primary"] == ["qi_deficiency"] and first["summary"] == "是气虚质"
    # 示例2: 平和 75, 痰湿 32 → 基本是平和质，有痰湿质倾向.
    second = overall(scored(dict(zip(codes, [75, 16, 27, 25, 32, 25, 10, 18, 10], strict=True))))
    assert second == {
        "primary": ["balanced"],
        "tendencies": ["phlegm_dampness"],
        "summary": "基本是平和质；有痰湿质倾向",
    }


def test_an_incomplete_or_invalid_set_lists_every_bad_item():
    given = answers("F", B2=6, C1="x", D1=True, E1=0)
    for item in ("A1", "G7"):
        del given[item]
    with pytest.raises(IncompleteAnswers) as caught:
        score(given, "F")
    assert caught.value.missing == ["A1", "G7"]
    assert caught.value.invalid == ["B2", "C1", "D1", "E1"]
    assert isinstance(caught.value, ValueError)


def test_a_sex_other_than_female_or_male_is_refused():
    with pytest.raises(ValueError, match="sex"):
        score(answers(), "U")


def test_every_type_has_advice_and_every_item_it_names_exists():
    ids = {item["id"] for item in questionnaire.data()["items"]}
    assert all(row.item in ids for entry in questionnaire.types() for row in entry.items)
    assert set(questionnaire.advice()) == {entry.code for entry in questionnaire.types()}
    assert all(text["diet"] and text["daily_life"] for text in questionnaire.advice().values())
