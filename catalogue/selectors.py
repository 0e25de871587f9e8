"""Reads of the catalogue and stock."""

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet, Sum

from accounts.permissions import scope_to_institutions
from core.db import Columns

from .models import BareName, Formula, FormulaKind, Herb, HerbAlias, StockBatch, ToxicListEntry
from .pinyin import compact, guess_pinyin, has_cjk, search_key


@dataclass(frozen=True)
class HerbMatch:
    herb: Herb
    rank: int
    matched_alias: str = ""


def _rank(text: str, pinyin: str, initials: str, q: str) -> int | None:
    """Lower is better: exact name 0, exact initials or full pinyin 1, name prefix 2,
    initials or pinyin prefix 3, name contains 4, pinyin contains 5."""
    if text == q:
        return 0
    if q in (initials, pinyin):
        return 1
    if text.startswith(q):
        return 2
    if initials.startswith(q) or pinyin.startswith(q):
        return 3
    if q in text:
        return 4
    if len(q) >= 3 and q in pinyin:
        return 5
    return None


def herb_catalogue() -> QuerySet:
    """Every herb, inactive ones included, in catalogue order (the lists narrow it)."""
    return Herb.objects.order_by("initials", "name")


def herb_search(query: str, *, include_inactive: bool = False, limit: int | None = None) -> list[HerbMatch]:
    """Herbs matching `query` by Chinese name, full pinyin or pinyin initials, or by an alias,
    ranked exact-first ('gc' → 甘草, 'zgc' → 炙甘草, 'gancao' → 甘草, '元胡' → 延胡索)."""
    raw = query.strip()
    if not raw:
        return []
    if has_cjk(raw):
        q = raw
        herb_filter = Q(name__contains=q)
        alias_filter = Q(alias__contains=q)
    else:
        q = search_key(raw)
        if not q:
            return []
        herb_filter = Q(initials__startswith=q) | Q(pinyin_compact__startswith=q)
        alias_filter = Q(initials__startswith=q) | Q(pinyin_compact__startswith=q)
        if len(q) >= 3:
            herb_filter |= Q(pinyin_compact__contains=q)
            alias_filter |= Q(pinyin_compact__contains=q)
    herbs = Herb.objects.filter(herb_filter)
    aliases = HerbAlias.objects.filter(alias_filter).select_related("herb")
    if not include_inactive:
        herbs = herbs.filter(active=True)
        aliases = aliases.filter(herb__active=True)

    best: dict[int, HerbMatch] = {}
    for herb in herbs:
        rank = _rank(herb.name, herb.pinyin_compact, herb.initials, q)
        if rank is not None:
            best[herb.pk] = HerbMatch(herb, rank)
    for alias in aliases:
        rank = _rank(alias.alias, alias.pinyin_compact, alias.initials, q)
        if rank is None:
            continue
        current = best.get(alias.herb_id)
        # Keep the herb's best match; an alias ranks just behind a direct match of equal quality.
        if current is None or (rank, True) < (current.rank, bool(current.matched_alias)):
            best[alias.herb_id] = HerbMatch(alias.herb, rank, matched_alias=alias.alias)
    # Within a match quality, what the county prescribes most comes first (gz → 桂枝, not 广枣);
    # before the county has history, what the classical formulas use most; then catalogue order.
    use, classical = herb_use_counts(), herb_formula_counts()
    ordered = sorted(
        best.values(),
        key=lambda m: (
            m.rank,
            -use.get(m.herb.name, 0),
            -classical.get(m.herb.name, 0),
            bool(m.matched_alias),
            len(m.herb.name),
            m.herb.name != m.herb.base_herb,
            m.herb.pinyin_compact,
            m.herb.pk,
        ),
    )
    return ordered[:limit] if limit else ordered


# {herb name: times prescribed in the county}: counted by the prescriptions app (which owns the
# prescriptions) every few minutes and kept in the cache, so a search reads one cached value.
HERB_USE_KEY = "catalogue:herb-use:v1"
_formula_counts: dict[str, int] = {}


def herb_use_counts() -> dict[str, int]:
    """How often the county prescribed each herb, as last counted; empty before the first count."""
    return cache.get(HERB_USE_KEY) or {}


def herb_formula_counts() -> dict[str, int]:
    """{herb name: how many classical formulas use it}, counted once per process (the classical
    formulas change only with a catalogue import)."""
    if not _formula_counts:
        compositions = list(
            Formula.objects.filter(kind=FormulaKind.CLASSICAL, active=True).values_list("items", flat=True)
        )
        names = [str(item.get("herb", "")) for items in compositions for item in items if isinstance(item, dict)]
        resolved = herb_resolve_many(names)
        counts = Counter()
        for items in compositions:
            herbs = {resolved[name].name for item in items if (name := str(item.get("herb", "")).strip()) in resolved}
            counts.update(herbs)
        _formula_counts.update(counts)  # left empty while there are no formulas: counted again later
    return _formula_counts


def toxic_listed_herb_ids() -> set[int]:
    """Herbs on the 28-item list of 《医疗用毒性药品管理办法》 (one small query)."""
    return set(ToxicListEntry.objects.values_list("herb_id", flat=True))


def herb_suggest(name: str, limit: int = 3) -> list[str]:
    """Active herbs a mistyped name probably means: the same sound first (甘艹 → 甘草), then
    herbs whose pinyin starts the same way."""
    sound = compact(guess_pinyin(name.strip()))
    if not sound:
        return []
    names = list(Herb.objects.filter(active=True, pinyin_compact=sound).values_list("name", flat=True))
    for match in herb_search(sound):
        if match.herb.name not in names:
            names.append(match.herb.name)
    return names[:limit]


def bare_names_dispensed_processed() -> bool:
    """True when the county's policy (settings.TCM_BARE_NAME_POLICY) dispenses a bare name the
    conventions give processed as the processed herb (写川乌付制川乌); False when a bare name means
    the herb the 药典 names so."""
    return settings.TCM_BARE_NAME_POLICY == "processed"


# What a prescription line needs of the herb it names: the price, the flags its checks read.
RESOLVED = Columns(Herb, "h", only=("id", "name", "active", "price_per_g", "special_decoction"))


def herb_resolve_many(names) -> dict[str, Herb]:
    """{written name: catalogue herb dispensed} for every name that is a herb or an alias, with the
    county's bare-name policy applied: a bare name the conventions give processed first, then a
    herb's own name, then an alias. One statement in plain SQL (a UNION of the three lookups; read
    on every submit and precheck) loads the herbs with the RESOLVED fields. The rule snapshot
    resolves alike."""
    names = sorted({name.strip() for name in names if name and name.strip()})
    if not names:
        return {}
    quote, marks = connection.ops.quote_name, ", ".join(["%s"] * len(names))
    herbs = quote(Herb._meta.db_table)
    lookups = [
        f"SELECT 1, h.{quote('name')}, {RESOLVED} FROM {herbs} h WHERE h.{quote('name')} IN ({marks})",
        f"SELECT 2, a.{quote('alias')}, {RESOLVED} FROM {quote(HerbAlias._meta.db_table)} a"
        f" JOIN {herbs} h ON h.id = a.herb_id WHERE a.{quote('alias')} IN ({marks})",
    ]
    if bare_names_dispensed_processed():
        lookups.append(
            f"SELECT 0, b.{quote('written')}, {RESOLVED} FROM {quote(BareName._meta.db_table)} b"
            f" JOIN {herbs} h ON h.id = b.herb_id WHERE b.{quote('written')} IN ({marks})"
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(lookups), names * len(lookups))
        rows = sorted(cursor.fetchall(), key=lambda row: row[0])  # the best kind of match first
    found: dict[str, Herb] = {}
    for _rank, written, *values in rows:
        if written not in found:
            found[written] = RESOLVED.load(values)
    return found


def herb_resolve(name: str, *, as_dispensed: bool = True) -> Herb | None:
    """The catalogue herb a name stands for: the herb itself or an alias. With `as_dispensed` (a
    prescription line) the county's bare-name policy applies; without it (an allergy: 川乌 is 川乌)
    the name is read literally."""
    name = name.strip()
    if as_dispensed and bare_names_dispensed_processed():
        bare = BareName.objects.filter(written=name).select_related("herb").first()
        if bare is not None:
            return bare.herb
    herb = Herb.objects.filter(name=name).first()
    if herb is None:
        alias = HerbAlias.objects.filter(alias=name).select_related("herb").first()
        herb = alias.herb if alias else None
    return herb


def stock_batches_visible_to(user) -> QuerySet:
    return scope_to_institutions(StockBatch.objects.select_related("herb", "pharmacy"), user, "pharmacy")


def stock_available_g(*, pharmacy_id: int, herb_id: int, today=None) -> float:
    """Grams of unexpired stock of a herb at a pharmacy."""
    from django.utils import timezone

    today = today or timezone.localdate()
    total = StockBatch.objects.filter(pharmacy_id=pharmacy_id, herb_id=herb_id, expiry_date__gte=today).aggregate(
        total=Sum("quantity_g")
    )["total"]
    return total or 0
