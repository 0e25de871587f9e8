"""The pre-audit rule engine: a pure function of (prescription, patient, rule snapshot) → findings.

No database access here. A RuleSnapshot is built once per rule version (rules.services) from plain
data and is immutable; the same engine serves the live warnings in the editor, the submit (whose
findings the audit run keeps), the what-if replay and `manage.py audit_check`. Each rule is one
function in `rules.checks`, listed by its finding code in that module's tables.

Names: every finding lists herbs exactly as written in the prescription (炙甘草, not 甘草). A
written name resolves to a catalogue herb directly or through the alias table; processed forms
share their base herb's group for 十八反/十九畏 (炙甘草 → 甘草, 法半夏 → 半夏, 制川乌/附子 → 乌头),
and duplicates are counted by 药典 monograph (白术 + 麸炒白术; not 地黄 + 熟地黄).
"""

from .checks import LINE_RULES, NAME_RULES, PRESCRIPTION_RULES, RULES, context
from .cross import CROSS_RULES
from .data import (
    CODES,
    LABEL_TO_SPECIAL,
    REQUIRED_INSTRUCTIONS,
    SPECIAL_LABELS,
    AgeBand,
    CustomPairRule,
    Finding,
    HerbRule,
    IncompatibilityRule,
    Item,
    OtherPrescription,
    PatientContext,
    PrescriptionDraft,
    RuleSnapshot,
    Severity,
)

ENGINE_VERSION = "1.0"

__all__ = [
    "CODES",
    "CROSS_RULES",
    "ENGINE_VERSION",
    "LABEL_TO_SPECIAL",
    "REQUIRED_INSTRUCTIONS",
    "RULES",
    "SPECIAL_LABELS",
    "AgeBand",
    "CustomPairRule",
    "Finding",
    "HerbRule",
    "IncompatibilityRule",
    "Item",
    "OtherPrescription",
    "PatientContext",
    "PrescriptionDraft",
    "RuleSnapshot",
    "Severity",
    "audit",
    "risk_level",
]


def audit(draft: PrescriptionDraft, patient: PatientContext, rules: RuleSnapshot) -> list[Finding]:
    """All findings for `draft`, most severe first. Pure: the same inputs give the same list."""
    ctx = context(draft, patient, rules)
    findings = [found for check in NAME_RULES.values() for found in check(ctx)]
    for line in ctx.lines:
        findings.extend(found for check in LINE_RULES.values() for found in check(ctx, line))
    findings.extend(found for check in PRESCRIPTION_RULES.values() for found in check(ctx))
    if draft.others:  # the same patient's other active prescriptions (rules.cross)
        findings.extend(found for check in CROSS_RULES.values() for found in check(ctx))
    findings.sort(key=lambda f: Severity.ORDER[f.severity])  # stable: the tables' order within a severity
    return findings


def risk_level(findings: list[Finding]) -> str:
    """none / low / high: high when anything blocks, low when there are warnings only."""
    severities = {finding.severity for finding in findings}
    if Severity.BLOCK in severities:
        return "high"
    if Severity.WARN in severities:
        return "low"
    return "none"
