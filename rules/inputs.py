"""input.invalid: values no patient or prescription can have. The interchange-form parser only
refuses malformed types (rules.drafts); an impossible value becomes this block finding, never a
clean pass. Listed in rules.checks' tables. Pure: no database access."""

from collections.abc import Iterator

from .base import Context, finding
from .base import grams_text as _g
from .data import MAX_AGE_YEARS, MAX_WEIGHT_KG, Finding

SOURCE = "处方基本信息核对"


def check_invalid_input(ctx: Context) -> Iterator[Finding]:
    patient, doses = ctx.patient, ctx.draft.doses
    if doses < 1:
        yield finding("input.invalid", [], f"剂数为 {doses}，至少应为 1 剂。", SOURCE)
    age = patient.age_years
    if age is not None and not 0 <= age <= MAX_AGE_YEARS:
        yield finding("input.invalid", [], f"年龄 {_g(age)} 岁不可能，请核对（0～{MAX_AGE_YEARS}岁）。", SOURCE)
    weight = patient.weight_kg
    if weight is not None and not 0 < weight <= MAX_WEIGHT_KG:
        yield finding("input.invalid", [], f"体重 {_g(weight)}kg 不可能，请核对（0～{MAX_WEIGHT_KG}kg）。", SOURCE)
    if patient.pregnant and patient.sex == "M":
        yield finding("input.invalid", [], "性别为男，却标记为妊娠，请核对性别或妊娠状态。", SOURCE)
    for item in ctx.draft.items:
        if item.grams <= 0:
            yield finding("input.invalid", [item.herb], f"{item.herb} {_g(item.grams)}g：剂量必须大于 0。", SOURCE)
