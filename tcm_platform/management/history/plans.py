"""One prescription's life, planned from the seeded random stream: its herbs (a classical formula
scaled by the clinician's habit, with a problem injected now and then), the audit's findings, and
every stage it reaches with who moved it and when."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from accounts.roles import Role
from prescriptions.services import finding_key
from prescriptions.services.checking import draft_for_audit
from prescriptions.services.drafting import ClinicalFacts
from rules.engine import Finding, Severity, risk_level
from rules.services import check_draft

COLD_FORMULAS = ("麻黄汤", "桂枝汤", "小青龙汤", "止嗽散", "银翘散", "桑菊饮", "麻杏石甘汤", "参苏饮")
OTHER_DISEASES = ("胃脘痛", "不寐", "眩晕", "泄泻", "便秘", "郁证", "虚劳", "痹证", "月经不调", "头痛")
S = "submitted"


@dataclass
class Plan:
    clinician: object
    patient: object
    formula: str
    disease: str
    items: list  # (herb, grams, instruction)
    doses: int
    urgent: bool
    decoction: str
    delivery: str
    pregnancy: str
    at: object
    version: int = 1
    previous: object = None
    findings: list = field(default_factory=list)
    events: list = field(default_factory=list)  # (stage, actor, at, data)
    decision: tuple | None = None  # (pharmacist, decision, reasons, overrides)
    double_signature: dict = field(default_factory=dict)
    failed_delivery: bool = False
    pk: int = 0  # reserved when written
    number: str = ""  # drawn when written; a revision keeps its first version's
    token: str = ""  # the tracking page's


def choose_formula(rng, clinician, formulas, at):
    if at.month in (11, 12, 1, 2) and rng.random() < 0.4:
        cold = [f for f in formulas if f.name in COLD_FORMULAS]
        if cold:
            return rng.choice(cold)
    if clinician.favourites and rng.random() < 0.6:
        return formulas[rng.choice(clinician.favourites)]
    return rng.choice(formulas)


def disease_for(formula, rng):
    if formula.name in COLD_FORMULAS:
        return rng.choice(("感冒", "咳嗽"))
    return OTHER_DISEASES[sum(map(ord, formula.name)) % len(OTHER_DISEASES)]


def _bounds(herb, age):
    """The range a careful clinician keeps to: the herb's usual range, less for the elderly and
    about half for a child (the rules' own factors decide the findings)."""
    low, high = herb.dose_min_g, herb.dose_max_g
    if age < 14:
        return None, (high * Decimal("0.5")) if high else None
    return low, (high * Decimal("0.8") if age >= 65 else high) if high else None


def herb_rows(rng, clinician, formula, herbs, patient, end):
    age = (end - patient.date_of_birth).days // 365
    scale = clinician.dose_scale * (0.5 if age < 14 else 1)
    rows = []
    for entry in formula.items:
        herb = herbs.get(entry["herb"])
        if herb is None or any(h.pk == herb.pk for h, _g, _i in rows):
            continue
        grams = Decimal(str(entry.get("grams") or 9)) * Decimal(str(round(scale * rng.uniform(0.9, 1.1), 2)))
        low, high = _bounds(herb, age)
        grams = min(grams, high) if high else grams
        grams = max(grams, low) if low else grams
        rows.append((herb, max(Decimal("0.01"), grams.quantize(Decimal("0.01"))), entry.get("instruction") or ""))
    return rows


def inject(rng, rows, herbs, patient):
    """A problem now and then, at about the rates county audits see."""
    roll, pregnancy = rng.random(), "no"
    capped = [n for n, (h, _g, _i) in enumerate(rows) if h.dose_max_g]
    if roll < 0.03 and capped:
        n = rng.choice(capped)
        herb, _grams, instruction = rows[n]
        over = herb.dose_max_g * Decimal("1.6")  # whole grams, but for the herbs dosed in fractions of one
        rows[n] = (herb, over.quantize(Decimal("1") if over >= 1 else Decimal("0.01")), instruction)
    elif roll < 0.045 and "甘草" in herbs and "海藻" in herbs:
        present = {h.name for h, _g, _i in rows}
        rows.extend((herbs[name], Decimal(10), "") for name in ("甘草", "海藻") if name not in present)
    elif roll < 0.06 and patient.sex == "F" and "红花" in herbs:
        pregnancy = "yes"
        if all(h.name != "红花" for h, _g, _i in rows):
            rows.append((herbs["红花"], Decimal(6), ""))
    return rows, pregnancy


def findings_for(plan, end, rules):
    age = Decimal((end - plan.patient.date_of_birth).days // 365)
    facts = ClinicalFacts(sex=plan.patient.sex, age_years=age, pregnancy=plan.pregnancy)
    items = [{"herb": h.name, "grams": g, "instruction": i} for h, g, i in plan.items]
    return check_draft(draft_for_audit(facts=facts, doses=plan.doses, items=items), rules).findings


def plan_one(rng, clinician, patient, catalogue, at, end) -> Plan:
    herbs, formulas, rules = catalogue
    formula = choose_formula(rng, clinician, formulas, at)
    rows, pregnancy = inject(rng, herb_rows(rng, clinician, formula, herbs, patient, end), herbs, patient)
    plan = Plan(
        clinician=clinician,
        patient=patient,
        formula=formula.name,
        disease=disease_for(formula, rng),
        items=rows,
        doses=rng.choice((3, 5, 5, 7, 7, 7, 7, 7, 14)),
        urgent=rng.random() < clinician.urgent_share,
        decoction="self" if rng.random() < 0.25 else "center",
        delivery="pickup" if rng.random() < 0.3 else "address",
        pregnancy=pregnancy,
        at=at,
    )
    plan.findings, plan.token = findings_for(plan, end, rules), f"{rng.getrandbits(128):032x}"
    return plan


def revise(rng, plan, catalogue, end) -> Plan:
    """The clinician's next version after a rejection: the formula again, without the problem."""
    herbs, formulas, rules = catalogue
    formula = next(f for f in formulas if f.name == plan.formula)
    again = Plan(**{**plan.__dict__, "events": [], "decision": None, "double_signature": {}, "pk": 0})
    again.items = herb_rows(rng, plan.clinician, formula, herbs, plan.patient, end)
    again.pregnancy, again.version, again.previous = "no", plan.version + 1, plan
    again.at = plan.events[-1][2] + timedelta(hours=rng.uniform(1, 30))
    again.findings, again.token = findings_for(again, end, rules), f"{rng.getrandbits(128):032x}"
    return again


def _minutes(rng, low, high, urgent=False):
    return timedelta(minutes=rng.uniform(low, high) * (0.3 if urgent else 1))


def decide(rng, plan, staff):
    blocking = [f for f in plan.findings if f["severity"] == Severity.BLOCK]
    pharmacist = rng.choice(staff[Role.PHARMACIST])
    signed = blocking and rng.random() < plan.clinician.override_rate
    if (blocking and not signed) or rng.random() < plan.clinician.reject_rate:
        reasons = [f["message"] for f in blocking] or ["剂量与辨证不符，请调整"]
        return pharmacist, "reject", reasons, {}
    overrides = {finding_key(f): "临床需要，已与医师确认" for f in blocking}
    if signed:
        plan.double_signature = {
            "signed_by": plan.clinician.user.pk,
            "signed_by_name": str(plan.clinician.user),
            "signed_at": plan.at.isoformat(),
            "findings": [{**f, "reason": "辨证明确，知情同意"} for f in blocking],
        }
    return pharmacist, "approve", [], overrides


def risk_of(plan):
    return risk_level([Finding.from_dict(f) for f in plan.findings])
