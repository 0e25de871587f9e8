"""Rule versions: freeze the working rule tables into JSON, load a version as an engine
RuleSnapshot (cached per version number), publish, and replay a draft over past prescriptions;
and the check of one draft with the live rules (the editor's warnings and the submit)."""

import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.permissions import ensure_capability
from catalogue.models import BareName, Herb, HerbAlias, IncompatibilityRule, PregnancyCaution, ToxicListEntry

from . import engine
from .drafts import parse_draft
from .models import AgeBand, CustomPairRule, RuleVersion, RuleVersionStatus

# (version number, bare-name policy) → snapshot: a county's policy is read from settings each time.
_snapshots: dict[tuple[int, str], engine.RuleSnapshot] = {}


class DraftCheck(NamedTuple):
    findings: list[dict]  # Finding.as_dict(), most severe first
    rule_version: int  # the live rule version the findings come from
    duration_ms: float  # the engine's time (parsing and loading the rules excluded)


def check_draft(draft: dict, rules: engine.RuleSnapshot | None = None, others=()) -> DraftCheck:
    """The findings for a draft in the interchange form, with the live rules (or `rules`, a
    snapshot a bulk caller loaded once). `others`: more of the patient's other active
    prescriptions, as engine.OtherPrescription (read from the database: not parsed again).
    Raises DraftError for a malformed draft."""
    parsed, patient = parse_draft(draft)
    if others:
        parsed = replace(parsed, others=(*parsed.others, *others))
    rules = rules or live_snapshot()
    started = time.perf_counter()
    findings = engine.audit(parsed, patient, rules)
    duration_ms = (time.perf_counter() - started) * 1000
    return DraftCheck([finding.as_dict() for finding in findings], rules.version, duration_ms)


def _decimal(value):
    return None if value is None else str(value)


def collect_rule_data() -> dict:
    """Everything the engine needs, from the working tables, as JSON-ready data."""
    toxic = set(ToxicListEntry.objects.values_list("herb__name", flat=True))
    cautions = {c.herb_id: c for c in PregnancyCaution.objects.all()}
    herbs = {}
    for herb in Herb.objects.all():
        caution = cautions.get(herb.pk)
        pregnancy = caution.level if caution else herb.pregnancy
        herbs[herb.name] = {
            "base": herb.base_herb or herb.name,
            "dose_min": _decimal(herb.dose_min_g),
            "dose_max": _decimal(herb.dose_max_g),
            "toxicity": herb.toxicity,
            "special": herb.special_decoction,
            "pregnancy": pregnancy,
            "pregnancy_from_pharmacopoeia": caution.from_pharmacopoeia if caution else herb.in_pharmacopoeia,
            "external_only": herb.external_only,
            "active": herb.active,
            "toxic_listed": herb.name in toxic,
            # The citation of the herb's own row, by name (never the internal provenance text).
            "source": herb.rule_source or ("中国药典2020年版一部" if herb.in_pharmacopoeia else "本平台补充条目"),
            "pinyin": herb.pinyin_compact,
            "monograph": herb.monograph or herb.name,
            "child_forbidden": herb.child_forbidden,
            "decoction_use": herb.decoction_use,
            "method_conditional": herb.decoction_method_conditional,
            "methods_also_accepted": [code for code in herb.method_also_accepted.split("|") if code],
            "inactive_reason": herb.inactive_reason,
            "drastic_purgative": herb.drastic_purgative,
            "aconite_alkaloid": herb.aconite_alkaloid,
        }
    incompatibilities = [
        {
            "kind": rule.kind,
            "a": sorted(h.name for h in rule.group_a.all()),
            "b": sorted(h.name for h in rule.group_b.all()),
            "source": f"中国药典2020年版一部【注意】；{rule.get_kind_display()}歌诀",
        }
        for rule in IncompatibilityRule.objects.prefetch_related("group_a", "group_b")
    ]
    return {
        "herbs": herbs,
        "aliases": dict(HerbAlias.objects.values_list("alias", "herb__name")),
        "bare_names": dict(BareName.objects.values_list("written", "herb__name")),
        "incompatibilities": incompatibilities,
        "age_bands": [
            {"below_years": str(b.below_years), "factor": str(b.factor), "label": b.label}
            for b in AgeBand.objects.order_by("below_years")
        ],
        "custom_pairs": [
            {"a": r.herb_a.name, "b": r.herb_b.name, "severity": r.severity, "message": r.message, "source": r.source}
            for r in CustomPairRule.objects.filter(active=True).select_related("herb_a", "herb_b")
        ],
    }


def snapshot_from_data(number: int, data: dict, *, bare_name_policy: str | None = None) -> engine.RuleSnapshot:
    """The engine snapshot of frozen rule data. The bare-name table travels with the version; the
    county's policy (settings.TCM_BARE_NAME_POLICY unless given) decides whether it applies, so
    the engine reads a bare name as the submit and the dispensing do."""
    policy = bare_name_policy or settings.TCM_BARE_NAME_POLICY

    def dec(value):
        return None if value is None else Decimal(value)

    herbs = {
        name: engine.HerbRule(
            name=name,
            base=h["base"],
            dose_min=dec(h["dose_min"]),
            dose_max=dec(h["dose_max"]),
            toxicity=h["toxicity"],
            special=h["special"],
            pregnancy=h["pregnancy"],
            pregnancy_from_pharmacopoeia=h["pregnancy_from_pharmacopoeia"],
            external_only=h["external_only"],
            active=h["active"],
            toxic_listed=h["toxic_listed"],
            source=h["source"],
            pinyin=h.get("pinyin", ""),
            # Versions frozen before these keys existed read as before (no monograph: the base).
            monograph=h.get("monograph", ""),
            child_forbidden=h.get("child_forbidden", False),
            decoction_use=h.get("decoction_use", ""),
            method_conditional=h.get("method_conditional", False),
            methods_also_accepted=tuple(h.get("methods_also_accepted", ())),
            inactive_reason=h.get("inactive_reason", ""),
            drastic_purgative=h.get("drastic_purgative", False),
            aconite_alkaloid=h.get("aconite_alkaloid", False),
        )
        for name, h in data["herbs"].items()
    }
    return engine.RuleSnapshot(
        version=number,
        herbs=herbs,
        aliases=dict(data["aliases"]),
        bare_names=dict(data.get("bare_names", {})) if policy == "processed" else {},
        incompatibilities=tuple(
            engine.IncompatibilityRule(r["kind"], frozenset(r["a"]), frozenset(r["b"]), r["source"])
            for r in data["incompatibilities"]
        ),
        age_bands=tuple(
            engine.AgeBand(Decimal(b["below_years"]), Decimal(b["factor"]), b["label"]) for b in data["age_bands"]
        ),
        custom_pairs=tuple(
            engine.CustomPairRule(p["a"], p["b"], p["severity"], p["message"], p["source"])
            for p in data["custom_pairs"]
        ),
    )


def snapshot_for(version: RuleVersion) -> engine.RuleSnapshot:
    """The engine snapshot of a version; built once per process and version number."""
    key = (version.number, settings.TCM_BARE_NAME_POLICY)
    snapshot = _snapshots.get(key)
    if snapshot is None:
        snapshot = _snapshots[key] = snapshot_from_data(version.number, version.data)
    return snapshot


@transaction.atomic
def rule_version_create(*, actor=None, note: str = "") -> RuleVersion:
    """Freeze the working rule tables into a new draft version."""
    if actor is not None:
        ensure_capability(actor, "manage_catalogue")
    last = RuleVersion.objects.select_for_update().order_by("-number").first()
    return RuleVersion.objects.create(
        number=(last.number + 1) if last else 1, data=collect_rule_data(), note=note, created_by=actor
    )


@transaction.atomic
def rule_version_publish(*, version: RuleVersion, actor=None) -> RuleVersion:
    """Make `version` the live one; the previous live version is retired."""
    if actor is not None:
        ensure_capability(actor, "manage_catalogue")
    RuleVersion.objects.filter(status=RuleVersionStatus.LIVE).exclude(pk=version.pk).update(
        status=RuleVersionStatus.RETIRED
    )
    version.status, version.published_at = RuleVersionStatus.LIVE, timezone.now()
    version.save(update_fields=["status", "published_at"])
    return version


def live_rule_version() -> RuleVersion:
    """The live version. On a new installation (no version yet) the working tables become v1."""
    version = RuleVersion.objects.filter(status=RuleVersionStatus.LIVE).first()
    if version is None:
        try:
            with transaction.atomic():
                version = rule_version_publish(version=rule_version_create(note="initial rules"))
        except IntegrityError:  # another process published the first version at the same moment
            version = RuleVersion.objects.get(status=RuleVersionStatus.LIVE)
    return version


def live_snapshot() -> engine.RuleSnapshot:
    """The live rules. One small query per call (the live version's number); the rule data itself
    is read from the database only when this process has not built that version yet."""
    with connection.cursor() as cursor:  # plain SQL: asked on every submit, precheck and audit
        cursor.execute(
            f"SELECT MAX(number) FROM {RuleVersion._meta.db_table} WHERE status = %s", [RuleVersionStatus.LIVE]
        )
        (number,) = cursor.fetchone()
    key = (number, settings.TCM_BARE_NAME_POLICY)
    if number is not None and key in _snapshots:
        return _snapshots[key]
    return snapshot_for(live_rule_version())


def rule_version_whatif(*, version: RuleVersion, days: int = 30, drafts) -> dict:
    """Replay `version` against the live rules over `drafts` (prescriptions of the last `days`
    days as (PrescriptionDraft, PatientContext) pairs): findings added and removed per code."""
    live, candidate = live_snapshot(), snapshot_for(version)
    added, removed = Counter(), Counter()
    prescriptions = 0
    for draft, patient in drafts:
        prescriptions += 1
        before = {f.key: f.code for f in engine.audit(draft, patient, live)}
        after = {f.key: f.code for f in engine.audit(draft, patient, candidate)}
        added.update(code for key, code in after.items() if key not in before)
        removed.update(code for key, code in before.items() if key not in after)
    codes = sorted(set(added) | set(removed))
    return {
        "live": live.version,
        "candidate": version.number,
        "days": days,
        "since": timezone.now() - timedelta(days=days),
        "prescriptions": prescriptions,
        "per_code": [{"code": code, "added": added[code], "removed": removed[code]} for code in codes],
    }
