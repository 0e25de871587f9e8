"""The questionnaire of ZYYXH/T 157-2009 (中医体质分类与判定, 附录A) and the advice per type, read
once from constitution/data/ (the provenance of each is in its file). Pure: no ORM."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

DATA = Path(__file__).resolve().parent / "data"
SEXES = ("F", "M")
_SEX_OF_ITEM = {"female": {"F"}, "male": {"M"}, "both": {"F", "M"}}


@dataclass(frozen=True)
class TypeItem:
    item: str
    reverse: bool


@dataclass(frozen=True)
class ConstitutionType:
    code: str
    letter: str
    name: str
    items: tuple[TypeItem, ...]


@cache
def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def data() -> dict:
    return _load("questionnaire.json")


def version() -> str:
    return data()["version"]


def types() -> tuple[ConstitutionType, ...]:
    """The nine types in the standard's order (平和质 first), each with all its items, both sexes'."""
    return tuple(
        ConstitutionType(
            code=entry["code"],
            letter=entry["letter"],
            name=entry["name"],
            items=tuple(TypeItem(item=row["item"], reverse=row["reverse"]) for row in entry["items"]),
        )
        for entry in data()["types"]
    )


def type_names() -> dict[str, str]:
    return {entry.code: entry.name for entry in types()}


def items_for(sex: str) -> list[dict]:
    """The items one sex answers, in the file's order ({"id", "text", "sex"}); ValueError for a sex
    other than "F" or "M" (the standard has a question for each sex only)."""
    if sex not in SEXES:
        raise ValueError(f"sex must be one of {SEXES}, not {sex!r}")
    return [item for item in data()["items"] if sex in _SEX_OF_ITEM[item["sex"]]]


def item_ids_for(sex: str) -> list[str]:
    return [item["id"] for item in items_for(sex)]


def sections_for(sex: str) -> list[dict]:
    """The items grouped by the type that first asks them (each item once), for one screen with a
    section per type: [{"code", "name", "items": [item, ...]}]."""
    asked = {item["id"]: item for item in items_for(sex)}
    sections, seen = [], set()
    for entry in types():
        rows = [asked[row.item] for row in entry.items if row.item in asked and row.item not in seen]
        seen.update(row["id"] for row in rows)
        if rows:
            sections.append({"code": entry.code, "name": entry.name, "items": rows})
    return sections


def options() -> list[dict]:
    return data()["options"]


def advice() -> dict[str, dict[str, str]]:
    return _load("advice.json")["advice"]


def advice_for(result: dict) -> list[dict]:
    """The advice (diet, daily life, …) for an assessment's result: its primary types, then its
    tendencies, each with its code and Chinese name."""
    advice_by_type, names = advice(), type_names()
    return [
        {"code": code, "name": names[code], **advice_by_type[code]} for code in result["primary"] + result["tendencies"]
    ]


def advice_source() -> str:
    return _load("advice.json")["provenance"]["source"]


def consent() -> list:
    """What the patient reads and agrees to before the questions: on the phone page and in the
    invitation's API for a mini-program, the same words."""
    return [
        _(
            "You will answer 60 short questions about how you have felt over the past year (about 10 minutes). "
            "Your answers give your TCM constitution type by the standard of the China Association of Chinese "
            "Medicine (ZYYXH/T 157-2009), with advice on diet and daily life."
        ),
        _(
            "What is stored: your answers, the scores, the result and the date, in your record at the clinic. "
            "Who sees it: the clinicians and pharmacists of your clinic and the institutions above it. It is not "
            "shared with anyone else."
        ),
        _(
            "The result is a health guide, not a diagnosis. You may stop at any time; nothing is stored until you "
            "submit."
        ),
    ]
