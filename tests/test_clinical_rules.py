"""The clinical rules of issue 16, each test named as the rule it protects, through the engine
(rules.engine.audit with the live snapshot of the imported catalogue) and `manage.py audit_check`;
and the per-herb rule data they read (catalogue/data/herb_rules.csv)."""

import dataclasses
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalogue.importer.herb_rules import FORBIDDEN_IN_SOURCE
from catalogue.models import Herb
from rules import engine
from rules.drafts import parse_draft
from rules.services import live_snapshot

DRASTIC_PURGATIVES = ["甘遂", "醋甘遂", "京大戟", "醋京大戟", "红大戟", "芫花", "醋芫花", "商陆", "醋商陆"]
DRASTIC_PURGATIVES += ["牵牛子", "炒牵牛子", "巴豆", "巴豆霜", "千金子", "千金子霜"]


@pytest.fixture
def rules(catalogue):
    return live_snapshot()


def item(herb, grams, instruction=""):
    return {"herb": herb, "grams": grams, "instruction": instruction}


def draft(*items, doses=7, **patient):
    return {
        "patient": {"sex": "F", "age_years": 40, "pregnant": False, "allergies": [], **patient},
        "doses": doses,
        "items": list(items),
    }


def run(case, rules):
    parsed, patient = parse_draft(case)
    return engine.audit(parsed, patient, rules)


def found(findings, code):
    return [f for f in findings if f.code == code]


# --- the data -------------------------------------------------------------------------------------


def test_every_active_herb_has_a_monograph_and_every_row_cites_a_real_source(catalogue):
    for herb in Herb.objects.all():
        assert herb.monograph, herb.name
        assert Herb.objects.filter(name=herb.monograph).exists(), herb.name
        assert herb.rule_source and not any(bad in herb.rule_source.lower() for bad in FORBIDDEN_IN_SOURCE)
        if herb.in_pharmacopoeia:
            assert herb.rule_source.startswith("中国药典2020年版一部") and herb.pharmacopoeia_excerpt


def test_every_active_prescribable_herb_has_a_checked_range_in_grams(catalogue):
    unchecked = Herb.objects.filter(active=True, external_only=False, dose_max_g__isnull=True).exclude(
        decoction_use="processed_only"
    )
    assert list(unchecked.values_list("name", flat=True)) == []


def test_processed_forms_with_their_own_entry_are_their_own_monograph(catalogue):
    monographs = dict(Herb.objects.values_list("name", "monograph"))
    for own in ["熟地黄", "炮姜", "红参", "法半夏", "姜半夏", "清半夏", "制川乌", "制草乌", "炙甘草"]:
        assert monographs[own] == own
    assert (monographs["麸炒白术"], monographs["酒大黄"], monographs["黑顺片"]) == ("白术", "大黄", "附子")


# --- duplicates and the 乌头 class ------------------------------------------------------------------


def test_shengdi_and_shudi_together_are_not_a_duplicate(rules):
    findings = run(draft(item("百合", 12), item("地黄", 9), item("熟地黄", 9), item("麦冬", 9)), rules)
    assert found(findings, "duplicate.herb") == []
    assert found(run(draft(item("人参", 6), item("红参", 6)), rules), "duplicate.herb") == []
    assert found(run(draft(item("干姜", 6), item("生姜", 6)), rules), "duplicate.herb") == []


def test_one_monograph_in_two_forms_is_a_duplicate(rules):
    duplicates = found(run(draft(item("白术", 9), item("麸炒白术", 9)), rules), "duplicate.herb")
    assert [f.herbs for f in duplicates] == [("白术", "麸炒白术")]
    assert found(run(draft(item("大黄", 6), item("酒大黄", 6)), rules), "duplicate.herb")


def test_several_aconite_herbs_draw_a_cumulative_warning_with_the_total_grams(rules):
    findings = run(draft(item("附子", 9, "先煎"), item("制川乌", 3, "先煎")), rules)
    (cumulative,) = found(findings, "toxic.cumulative")
    assert cumulative.severity == "warn" and cumulative.herbs == ("附子", "制川乌") and "12g" in cumulative.message
    assert found(findings, "duplicate.herb") == []


# --- children -------------------------------------------------------------------------------------


def test_a_childs_classical_formula_at_a_childs_dose_draws_no_under_minimum_notice(rules):
    # 四君子汤 for a 4-year-old (幼儿, 1/2 of the adult dose): each herb within the child's range.
    formula = [item("党参", 6), item("白术", 4), item("茯苓", 6), item("炙甘草", 2)]
    findings = run(draft(*formula, age_years=4), rules)
    assert found(findings, "dose.under_min") == [] and found(findings, "pediatric.dose") == []
    assert found(run(draft(item("茯苓", 2), age_years=4), rules), "dose.under_min")  # below 10 × 1/2


def test_a_childs_bounds_scale_by_weight_when_the_weight_is_given(rules):
    # 茯苓 10～15 g; 12 kg → × 0.2: 2～3 g.
    (over,) = found(run(draft(item("茯苓", 4), age_years=8, weight_kg=12), rules), "pediatric.dose")
    assert "按体重12kg折算" in over.message
    assert found(run(draft(item("茯苓", 4), age_years=8), rules), "pediatric.dose") == []  # by age: 2/3
    assert found(run(draft(item("茯苓", Decimal("2.5")), age_years=8, weight_kg=12), rules), "dose.under_min") == []


def test_poppy_husk_is_forbidden_for_a_child_and_not_for_an_adult(rules):
    (forbidden,) = found(run(draft(item("罂粟壳", 1), age_years=9), rules), "pediatric.forbidden")
    assert forbidden.severity == "block" and forbidden.source == "中国药典2020年版一部"
    assert found(run(draft(item("罂粟壳", 3)), rules), "pediatric.forbidden") == []


# --- no range, raw aconite ------------------------------------------------------------------------


@pytest.mark.parametrize("herb", ["生川乌", "生草乌", "生附子"])
def test_raw_aconite_in_a_decoction_is_blocked_at_any_amount(rules, herb):
    """Written as the raw drug (生…): a bare 川乌 is what the county's bare-name policy dispenses."""
    for grams, instruction in ((Decimal("0.1"), ""), (Decimal("0.1"), "先煎"), (3, "先煎")):
        (raw,) = found(run(draft(item(herb, grams, instruction)), rules), "toxic.raw_in_decoction")
        assert raw.severity == "block"


def test_processed_aconite_within_its_range_is_not_raw(rules):
    findings = run(draft(item("制川乌", 3, "先煎")), rules)
    assert found(findings, "toxic.raw_in_decoction") == [] and found(findings, "dose.no_range") == []


def test_an_active_herb_without_a_gram_range_is_blocked_as_no_range(rules):
    herbs = dict(rules.herbs)
    herbs["茯苓"] = dataclasses.replace(herbs["茯苓"], dose_min=None, dose_max=None)
    (no_range,) = found(run(draft(item("茯苓", 10)), dataclasses.replace(rules, herbs=herbs)), "dose.no_range")
    assert no_range.severity == "block"


# --- methods --------------------------------------------------------------------------------------


def test_fuzi_marked_add_later_is_a_wrong_method(rules):
    findings = run(draft(item("附子", 9, "后下")), rules)
    (wrong,) = found(findings, "decoction.instruction_wrong")
    assert wrong.severity == "block" and "先煎" in wrong.message
    assert found(findings, "decoction.instruction_missing") == []


def test_fuzi_marked_decoct_first_and_long_is_right(rules):
    findings = run(draft(item("附子", 9, "先煎久煎"), item("黑顺片", 9, "decoct_first")), rules)
    assert found(findings, "decoction.instruction_wrong") == []


def test_a_wrong_method_for_a_non_toxic_herb_warns(rules):
    (wrong,) = found(run(draft(item("薄荷", 6, "先煎")), rules), "decoction.instruction_wrong")
    assert wrong.severity == "warn"
    assert found(run(draft(item("番泻叶", 3, "冲服")), rules), "decoction.instruction_wrong") == []  # 或开水泡服


def test_a_method_that_depends_on_the_purpose_is_not_a_finding(rules):
    findings = run(draft(item("大黄", 9)), rules)
    assert found(findings, "decoction.instruction_missing") == []
    assert found(run(draft(item("钩藤", 9)), rules), "decoction.instruction_missing")  # 后下 always


def test_a_herb_not_for_the_decoction_is_prompted_unless_taken_separately(rules):
    (prompt,) = found(run(draft(item("青黛", 2)), rules), "decoction.not_for_decoction")
    assert prompt.severity == "warn" and "宜入丸散" in prompt.message
    assert found(run(draft(item("青黛", 2, "冲服")), rules), "decoction.not_for_decoction") == []
    assert found(run(draft(item("雷丸", 15)), rules), "decoction.not_for_decoction")


# --- withdrawn, protected, pregnancy --------------------------------------------------------------


def test_pangolin_scales_are_inactive_with_the_reason(rules):
    (inactive,) = found(run(draft(item("穿山甲", 6)), rules), "herb.inactive")
    assert "国家一级保护野生动物" in inactive.message and "药典2020" in inactive.message
    assert "2020年第12号" in inactive.source


@pytest.mark.parametrize("herb", ["马兜铃", "天仙藤", "青木香", "广防己", "关木通"])
def test_aristolochic_acid_herbs_are_inactive_with_the_reason(rules, herb):
    (inactive,) = found(run(draft(item(herb, 6)), rules), "herb.inactive")
    assert "马兜铃酸" in inactive.message and "肾毒性" in inactive.message


def test_a_textbook_only_pregnancy_row_is_info(rules):
    (caution,) = found(run(draft(item("干姜", 6), pregnant=True), rules), "pregnancy.caution")
    assert caution.severity == "info" and caution.source == "《中药学》（第七版）"
    (forbidden,) = found(run(draft(item("虻虫", 1), pregnant=True), rules), "pregnancy.forbidden")
    assert forbidden.severity == "info"


def test_a_pharmacopoeia_pregnancy_row_still_blocks(rules):
    (forbidden,) = found(run(draft(item("甘遂", 1), pregnant=True), rules), "pregnancy.forbidden")
    assert forbidden.severity == "block" and forbidden.source == "中国药典2020年版一部"


@pytest.mark.parametrize("herb", DRASTIC_PURGATIVES)
def test_the_drastic_purgatives_never_pass_silently_in_pregnancy(rules, herb):
    (forbidden,) = found(run(draft(item(herb, 1), pregnant=True), rules), "pregnancy.forbidden")
    assert forbidden.severity in ("block", "warn")


def test_hongdaji_in_pregnancy_warns_citing_the_textbook(rules):
    (forbidden,) = found(run(draft(item("红大戟", 1), pregnant=True), rules), "pregnancy.forbidden")
    assert (forbidden.severity, forbidden.source) == ("warn", "《中药学》（第七版）")


# --- input that cannot be right -------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        draft(item("甘草", 6), sex="M", pregnant=True),
        draft(item("甘草", 0)),
        draft(item("甘草", -3)),
        draft(item("甘草", 6), age_years=200),
        draft(item("甘草", 6), age_years=-1),
        draft(item("甘草", 6), weight_kg=0),
        draft(item("甘草", 6), weight_kg=400),
        draft(item("甘草", 6), doses=0),
    ],
    ids=["pregnant male", "0 g", "negative grams", "age 200", "age -1", "weight 0", "weight 400", "doses 0"],
)
def test_a_pregnant_male_is_invalid_input_not_a_clean_pass(rules, case):
    findings = run(case, rules)
    assert [f.severity for f in found(findings, "input.invalid")] == ["block"]
    assert engine.risk_level(findings) == "high"


def test_invalid_input_through_audit_check_is_a_finding_not_exit_2(catalogue, tmp_path, capsys):
    path = tmp_path / "male.json"
    path.write_text(json.dumps(draft(item("甘草", 6), sex="M", pregnant=True)), encoding="utf-8")
    call_command("audit_check", str(path))
    out = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in out["findings"]] == ["input.invalid"]


# --- citations and titles -------------------------------------------------------------------------

PATIENTS = [
    {},
    {"pregnant": True},
    {"age_years": 3},
    {"age_years": 3, "weight_kg": 14},
    {"age_years": 80},
    {"allergies": ["甘草"]},
]


def test_no_finding_cites_a_repository_path(rules):
    """Every herb of the catalogue, as every kind of patient, at several doses and methods."""
    sources = set()
    for name, rule in rules.herbs.items():
        high = (rule.dose_max or Decimal(1)) * 3
        for patient in PATIENTS:
            for grams, instruction in ((high, "后下"), (Decimal("0.01"), ""), (Decimal(0), "先煎")):
                case = draft(item(name, grams, instruction), item("甘草", 6), item("白术", 9), item("麸炒白术", 9))
                case["patient"].update(patient)
                sources.update(f.source for f in run(case, rules))
    bad = [source for source in sources if any(word in source.lower() for word in FORBIDDEN_IN_SOURCE)]
    assert bad == [] and "中国药典2020年版一部" in sources


def test_every_finding_code_has_a_short_chinese_title():
    for code, (severity, title) in engine.CODES.items():
        assert severity in engine.Severity.ORDER and title and len(title) <= 8, code
        assert not any("a" <= ch.lower() <= "z" for ch in title.replace("7", "")), code


def test_the_herb_api_shows_the_pharmacopoeia_excerpt(catalogue, api, clinician):
    api.force_login(clinician)
    herb = Herb.objects.get(name="附子")
    body = api.get(f"/api/v1/herbs/{herb.pk}/").json()
    assert body["pharmacopoeia_excerpt"].startswith("【用法与用量】3～15g，先煎")
    assert "孕妇慎用" in body["pharmacopoeia_excerpt"] and body["rule_source"] == "中国药典2020年版一部"
