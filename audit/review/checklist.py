"""The review checklist: the items of 《医院处方点评管理规范（试行）》 (卫医管发〔2010〕28号) that
apply to herbal-piece (中药饮片) prescriptions, per category of irrational prescription.

第二十七条 divides prescriptions into appropriate (合理处方) and irrational ones (不合理处方): non-standard
(不规范处方, 第二十八条), inappropriate medication (用药不适宜处方, 第二十九条) and excessive (超常处方,
第三十条). Each item below keeps the code of its clause, "<category>-<clause>" (第二十八条（十）→ 1-10),
as hospital review systems number them, and the clause's wording, with the herbal reading in brackets
where the clause is general. Left out as not applying to a 饮片 prescription: 第二十八条（十一）
(more than five drugs on one outpatient prescription: a herbal formula has more by nature) and
（十四） (antibiotics); 第二十九条（四） (the national essential medicines come first: the list names
herbal pieces as a class, not one by one). The clause texts follow copies of the 规范 in hospital
review systems (regulations.md §处方点评, secondary sources); the article numbers are the 规范's."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..models import Verdict

SOURCE = "《医院处方点评管理规范（试行）》（卫医管发〔2010〕28号）"


@dataclass(frozen=True)
class Item:
    code: str
    text: str
    needs_comment: bool = False  # an "other" item: the comment says what


ARTICLES = {
    Verdict.NONSTANDARD: "第二十八条",
    Verdict.INAPPROPRIATE: "第二十九条",
    Verdict.EXCESSIVE: "第三十条",
}

ITEMS: dict[str, tuple[Item, ...]] = {
    Verdict.NONSTANDARD: (
        Item("1-1", "处方的前记、正文、后记内容缺项，书写不规范或者字迹难以辨认"),
        Item("1-2", "医师签名、签章不规范或者与签名、签章的留样不一致"),
        Item("1-3", "药师未对处方进行适宜性审核（无审核、调配、核对、发药药师签名，或单人值班调剂未执行双签名规定）"),
        Item("1-4", "新生儿、婴幼儿处方未写明日、月龄"),
        Item("1-5", "西药、中成药与中药饮片未分别开具处方"),
        Item("1-6", "未使用药品规范名称开具处方（饮片名称、炮制品名称不规范）"),
        Item("1-7", "药品的剂量、规格、数量、单位等书写不规范或不清楚"),
        Item("1-8", "用法、用量使用“遵医嘱”、“自用”等含糊不清字句"),
        Item("1-9", "处方修改未签名并注明修改日期，或药品超剂量使用未注明原因和再次签名"),
        Item("1-10", "开具处方未写临床诊断或临床诊断书写不全（中医病名、证型）"),
        Item("1-12", "无特殊情况下门诊处方超过7日用量、急诊处方超过3日用量，需延长未注明理由"),
        Item("1-13", "开具医疗用毒性药品等特殊管理药品处方未执行国家有关规定"),
        Item("1-15", "中药饮片处方药物未按照“君、臣、佐、使”的顺序排列，或未按要求标注药物调剂、煎煮等特殊要求"),
    ),
    Verdict.INAPPROPRIATE: (
        Item("2-1", "适应证不适宜（方药与中医诊断、辨证不符）"),
        Item("2-2", "遴选的药品不适宜（如妊娠、哺乳、儿童、老人等特殊人群禁忌或慎用）"),
        Item("2-3", "药品剂型或给药途径不适宜（如外用药内服、不宜入煎剂）"),
        Item("2-5", "用法、用量不适宜（剂量、煎法、服法）"),
        Item("2-6", "联合用药不适宜"),
        Item("2-7", "重复给药（同一饮片不同炮制品、跨处方重复）"),
        Item("2-8", "有配伍禁忌或者不良相互作用（十八反、十九畏）"),
        Item("2-9", "其它用药不适宜情况", needs_comment=True),
    ),
    Verdict.EXCESSIVE: (
        Item("3-1", "无适应证用药"),
        Item("3-2", "无正当理由开具高价药（贵细药材）"),
        Item("3-3", "无正当理由超说明书用药（超出药典规定的用法用量）"),
        Item("3-4", "无正当理由为同一患者同时开具2种以上药理作用相同药物"),
    ),
}

BY_CODE = {item.code: (verdict, item) for verdict, items in ITEMS.items() for item in items}
ALL_CODES = tuple(BY_CODE)


def item_text(code: str) -> str:
    """The clause's text of an item code; the code itself for one the checklist does not hold."""
    return BY_CODE[code][1].text if code in BY_CODE else code


def checked(verdict: str, reasons, comment: str) -> list[str]:
    """The reasons of a score, each once in checklist order, if they fit the verdict: none for an
    appropriate prescription, at least one of the verdict's own category otherwise, and a comment
    for an "other" item. Raises ValidationError at the field (verdict, reasons or comment)."""
    if verdict not in Verdict.values:
        raise ValidationError({"verdict": [_("Choose one of the verdicts.")]})
    codes = [str(code) for code in reasons]
    unknown = [code for code in codes if code not in BY_CODE]
    if unknown:
        raise ValidationError(
            {"reasons": [_("Not an item of the checklist: %(codes)s") % {"codes": "、".join(unknown)}]}
        )
    if verdict == Verdict.APPROPRIATE:
        if codes:
            raise ValidationError({"reasons": [_("An appropriate prescription has no reasons.")]})
        return []
    own = [item.code for item in ITEMS[verdict]]
    foreign = [code for code in codes if code not in own]
    if foreign:
        raise ValidationError(
            {
                "reasons": [
                    _("%(codes)s are not items of “%(verdict)s”.")
                    % {"codes": "、".join(foreign), "verdict": Verdict(verdict).label}
                ]
            }
        )
    if not codes:
        raise ValidationError({"reasons": [_("Choose at least one item of the checklist for this verdict.")]})
    if any(BY_CODE[code][1].needs_comment for code in codes) and not comment.strip():
        raise ValidationError({"comment": [_("Say in the comment what the other inappropriateness is.")]})
    return [code for code in own if code in codes]
