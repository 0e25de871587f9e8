"""The stages a planned prescription reaches, each with its actor and a realistic duration."""

from datetime import UTC, timedelta
from decimal import Decimal

from accounts.roles import Role

from .plans import _minutes, decide, risk_of

# How often each dispenser's weighing fails the re-check, by their place in the staff list: one is
# careless, so the quality dashboard's failures by dispenser have someone to point at.
RECHECK_FAILURES = (0.015, 0.03, 0.07)


def _add(plan, stage, actor, at, data=None):
    at = at.astimezone(UTC).replace(microsecond=0)  # as the database gives it back, so the hash holds
    plan.events.append((stage, actor, at, data or {}))
    return at


def _audit(rng, plan, staff):
    at = _add(plan, "submitted", plan.clinician.user, plan.at, {"formula": plan.formula, "version": plan.version})
    at += timedelta(seconds=rng.uniform(2, 90))
    risk = risk_of(plan)
    _add(plan, "ai_audited", None, at, {"risk": risk, "findings": len(plan.findings)})
    if rng.random() < 0.01:
        return _add(plan, "cancelled", plan.clinician.user, at + _minutes(rng, 5, 60)), False
    pharmacist, decision, reasons, overrides = decide(rng, plan, staff)
    plan.decision = (pharmacist, decision, reasons, overrides)
    at += _minutes(rng, 5, 240, plan.urgent)
    stage = "approved" if decision == "approve" else "rejected"
    data = {"decision": decision, "reasons": reasons, "overrides": overrides, "comment": ""}
    return _add(plan, stage, pharmacist, at, data), decision == "approve"


def _weighed(rng, plan):
    """What the dispenser weighed: each herb's grams for all doses, within ±3% of the script (the
    record's id is added when it is written; stock batches are not drawn by the history)."""
    lines = []
    for position, (herb, grams, _instruction) in enumerate(plan.items, start=1):
        expected = grams * plan.doses
        scale = Decimal("0.1") if expected >= 1 else Decimal("0.01")  # a balance for fractions of a gram
        actual = (expected * Decimal(str(round(rng.uniform(0.97, 1.03), 4)))).quantize(scale)
        deviation = round(float((actual - expected) / expected) * 100, 2)
        line = {"position": position, "herb": herb.name, "expected_g": str(expected), "actual_g": str(actual)}
        lines.append({**line, "deviation_pct": deviation, "batches": []})
    return {"station": "dispensing", "weights": lines}


def _stations(rng, plan, staff, at):
    dispenser = rng.choice(staff[Role.DISPENSER])
    at = _add(plan, "dispensed", dispenser, at + _minutes(rng, 20, 180, plan.urgent), _weighed(rng, plan))
    checker = rng.choice(staff[Role.PHARMACIST])
    if rng.random() < RECHECK_FAILURES[staff[Role.DISPENSER].index(dispenser) % len(RECHECK_FAILURES)]:
        at = _add(plan, "recheck_failed", checker, at + _minutes(rng, 5, 30), {"reason": "称量偏差超过5%"})
        at = _add(plan, "dispensed", dispenser, at + _minutes(rng, 10, 40), _weighed(rng, plan))
    at = _add(plan, "rechecked", checker, at + _minutes(rng, 5, 30, plan.urgent), {"station": "recheck"})
    operator = rng.choice(staff[Role.DECOCTION_OPERATOR])
    if plan.decoction == "center":
        at = _add(plan, "soaking", operator, at + _minutes(rng, 10, 60, plan.urgent))
        at = _add(plan, "decocting", operator, at + timedelta(minutes=rng.uniform(30, 45)))
        at = _add(plan, "packaged", operator, at + timedelta(minutes=rng.uniform(40, 90)))
    else:
        at = _add(plan, "packaged", operator, at + _minutes(rng, 10, 60, plan.urgent))
    return at


def _handover(rng, plan, staff, at):
    if plan.delivery == "pickup":
        return _add(
            plan, "picked_up", rng.choice(staff[Role.DISPENSER]), at + _minutes(rng, 60, 3 * 24 * 60), {"by": "patient"}
        )
    courier = rng.choice(staff[Role.COURIER])
    at = _add(plan, "shipped", courier, at + _minutes(rng, 30, 300, plan.urgent))
    plan.failed_delivery = rng.random() < 0.05
    delay = timedelta(hours=rng.uniform(18, 30)) if plan.failed_delivery else timedelta()
    return _add(plan, "delivered", courier, at + delay + _minutes(rng, 30, 360, plan.urgent))


def live(rng, plan, staff, end):
    """Fill plan.events; stages after `end` have not happened yet (the prescription is in flight)."""
    at, approved = _audit(rng, plan, staff)
    if approved:
        at = _stations(rng, plan, staff, at)
        _handover(rng, plan, staff, at)
    plan.events = [event for event in plan.events if event[2] < end]
    if plan.decision and not any(e[0] in ("approved", "rejected") for e in plan.events):
        plan.decision = None
