"""The CDS Hooks order check: the services a hospital system (HIS) discovers, and a draft herbal
order checked by the platform's own audit engine with the live rule version — the path of the
precheck (`POST /api/v1/prescriptions/precheck/`: prescriptions.services.checking): the patient's
facts through `clean_facts`, the draft in the audit interchange form through `draft_for_audit`,
the findings from `rules.services.check_draft`. Nothing is saved.

One card per finding: the indicator from its severity (block → critical, warn → warning, info →
info), the engine's Chinese message as the summary (cut under 140 characters) and in full in the
detail with the rule and engine versions, the finding's source (药典 …) as `source.label`, its
code as `source.topic` (the audit-finding code system), and the suggestions of
interop.cds.suggestions. What the engine could not check (an order that is no herb line, a herb
with no dose yet, a patient with no age) is said in an info card of its own."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import ensure_capability
from prescriptions.services import draft_for_audit
from rules.drafts import DraftError
from rules.engine import CODES, ENGINE_VERSION, RuleSnapshot, Severity
from rules.services import check_draft, live_snapshot

from .codes import BODY_WEIGHT, LOINC, PREGNANCY_STATUS, code_system
from .parsing import ORDER_SELECT, ORDER_SIGN, HookRequest, parse_request
from .suggestions import suggestions_for

INDICATORS = {Severity.BLOCK: "critical", Severity.WARN: "warning", Severity.INFO: "info"}
SUMMARY_LENGTH = 139  # CDS Hooks: a summary is under 140 characters
EXTENSION = "cn.tcm-platform.audit"  # the card's extension: the versions and the finding, for machines
# Findings that read a line's grams: left out for a herb whose dose is not given yet (order-select).
DOSE_CODES = {
    "dose.over_max",
    "dose.under_min",
    "pediatric.dose",
    "elderly.dose",
    "toxic.days_limit",
    "toxic.cumulative",
    "input.invalid",
}
NO_DOSE_YET = Decimal(1)  # any positive grams: what the engine reads from it is left out
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
    "pregnancy": f"Observation?patient={{{{context.patientId}}}}&code={LOINC}|{PREGNANCY_STATUS}",
    "weight": f"Observation?patient={{{{context.patientId}}}}&code={LOINC}|{BODY_WEIGHT}",
}


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: object  # lazy translations
    description: object


SERVICES = {
    service.id: service
    for service in (
        Service(
            "tcm-herbal-order-select",
            ORDER_SELECT,
            gettext_lazy("Herbal order check, as herbs are chosen"),
            gettext_lazy(
                "The county's audit rules on the draft herbal order so far; a herb with no dose yet is "
                "checked for everything but its dose."
            ),
        ),
        Service(
            "tcm-herbal-order-sign",
            ORDER_SIGN,
            gettext_lazy("Herbal order check, before signing"),
            gettext_lazy(
                "The county's audit rules on the whole herbal order; every herb needs its grams per dose "
                "and the order its number of doses."
            ),
        ),
    )
}


def cds_service(service_id: str) -> Service | None:
    return SERVICES.get(service_id)


def cds_discovery() -> dict:
    """The CDS Hooks discovery document: each service with the prefetch it asks for."""
    return {
        "services": [
            {
                "hook": service.hook,
                "id": service.id,
                "title": str(service.title),
                "description": str(service.description),
                "prefetch": dict(PREFETCH),
            }
            for service in SERVICES.values()
        ]
    }


def cds_order_check(*, actor, service: Service, body) -> dict:
    """The cards for a CDS Hooks request to `service`, nothing saved. Needs the `prescribe`
    capability (PermissionDenied). Raises ValidationError with JSON paths for a malformed request
    or prefetch (interop.cds.parsing, interop.cds.prefetch), every refused field at once."""
    ensure_capability(actor, "prescribe")
    request = parse_request(body, hook=service.hook)
    rules = live_snapshot()
    cards = []
    if request.lines:
        for finding in _findings(request, rules):
            cards.append(finding_card(finding, request, rules))
    for summary in _notices(request):
        cards.append(_card(summary, Severity.INFO, _("County TCM Prescription Platform"), rules.version))
    return {"cards": cards}


def _findings(request: HookRequest, rules: RuleSnapshot) -> list[dict]:
    """The engine's findings for the herb lines, most severe first; those that read the grams of
    a herb with no dose yet are left out."""
    items = [
        {"herb": line.herb, "grams": NO_DOSE_YET if line.grams is None else line.grams, "instruction": line.instruction}
        for line in request.lines
    ]
    draft = draft_for_audit(facts=request.facts, doses=request.doses or 1, items=items)
    try:
        findings = check_draft(draft, rules).findings
    except DraftError as exc:  # the request was checked field by field: a safety net, never a 500
        raise ValidationError({"context.draftOrders": [str(exc)]}) from None
    undosed = {line.herb for line in request.lines if line.grams is None}
    return [f for f in findings if not (f["code"] in DOSE_CODES and undosed.intersection(f["herbs"]))]


def _notices(request: HookRequest) -> list[str]:
    """What was not checked, one info card each."""
    notices = []
    if request.unchecked:
        notices.append(_("Not checked, not a herb line: %(orders)s.") % {"orders": "、".join(request.unchecked)})
    undosed = [line.herb for line in request.lines if line.grams is None]
    if undosed:
        notices.append(_("No dose yet, so the dose of %(herbs)s was not checked.") % {"herbs": "、".join(undosed)})
    if request.lines and request.doses is None:
        notices.append(_("No number of doses yet: the limits over all doses were checked for one dose."))
    if not request.patient_given:
        notices.append(_("No Patient in the prefetch: the rules for children and the elderly were not applied."))
    return notices


def finding_card(finding: dict, request: HookRequest, rules: RuleSnapshot) -> dict:
    """The card of one finding (rules.engine.Finding.as_dict) with its suggestions."""
    code = finding["code"]
    topic = {"system": code_system("audit-finding"), "code": code}
    if code in CODES:
        topic["display"] = CODES[code][1]
    card = _card(
        finding["message"],
        finding["severity"],
        finding["source"] or _("County TCM Prescription Platform"),
        rules.version,
        topic=topic,
        finding=finding,
    )
    suggestions = suggestions_for(finding, request.lines, rules)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    return card


def _card(message: str, severity: str, source: str, rule_version: int, *, topic=None, finding=None) -> dict:
    versions = _("Rule version %(rule)s · engine %(engine)s") % {"rule": rule_version, "engine": ENGINE_VERSION}
    summary = message if len(message) <= SUMMARY_LENGTH else message[: SUMMARY_LENGTH - 1] + "…"
    extension = {"ruleVersion": rule_version, "engineVersion": ENGINE_VERSION}
    if finding is not None:
        extension.update(code=finding["code"], severity=finding["severity"], herbs=list(finding["herbs"]))
    card = {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "detail": f"{message}\n\n{versions}",
        "indicator": INDICATORS.get(severity, "info"),
        "source": {"label": source} | ({"topic": topic} if topic else {}),
        "extension": {EXTENSION: extension},
    }
    return card
