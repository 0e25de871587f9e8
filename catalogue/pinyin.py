"""Pinyin helpers: herbs carry reviewed pinyin from the reference files (射干 she gan,
黄柏 huang bo); pypinyin fills in only for names typed by an administrator or for aliases."""

import re

from pypinyin import Style, lazy_pinyin

_SEPARATORS = re.compile(r"[\s'’·-]+")


def compact(pinyin: str) -> str:
    """'gan cao' -> 'gancao'."""
    return _SEPARATORS.sub("", pinyin.lower())


def initials_of(pinyin: str) -> str:
    return "".join(syllable[0] for syllable in pinyin.lower().split() if syllable)


def guess_pinyin(name: str) -> str:
    """Spaced, toneless, lower-case pinyin for a Chinese name ('ü' written 'v')."""
    return " ".join(lazy_pinyin(name, style=Style.NORMAL, v_to_u=False)).lower()


def search_key(text: str) -> str:
    """Normalise a search query: lower case, no spaces or apostrophes."""
    return compact(text.strip())


def has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)
