"""A CDS Hooks order-select / order-sign request read into the herb lines the audit engine checks.

Each herb line is a MedicationRequest of `context.draftOrders` (a Bundle): the herb from
`medicationCodeableConcept` (a coding of the platform's herb code system, code = catalogue herb
id; else its Chinese name in `text` or a coding's `display`, read as the submit reads a written
name), the grams per dose from `dosageInstruction[0].doseAndRate[0].doseQuantity` (unit g), the
decoction method (先煎 …) from `dosageInstruction[0].additionalInstruction` (coded in the
special-decoction code system, or named in words), the doses (剂数) from
`dispenseRequest.quantity.value`. An order that is not a herb line — another resource type, a
`medicationReference`, or a medicine coded in another system whose name is no catalogue herb — is
not checked and is listed as such. Everything refused is raised together as one ValidationError
keyed by JSON path (interop.cds.reading)."""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalogue.models import SpecialDecoction
from catalogue.selectors import herb_catalogue, herb_resolve_many
from core.input import echo, whole_number
from prescriptions.services.drafting import MAX_DOSES, MAX_GRAMS, MAX_HERB_NAME, MAX_ITEMS, ClinicalFacts
from rules.engine import LABEL_TO_SPECIAL, SPECIAL_LABELS

from .codes import code_system, herb_id_of
from .prefetch import facts_from_prefetch
from .reading import Problems, codings, concept_text

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_ENTRIES = 100  # draft orders in one request
ORDER_SELECT, ORDER_SIGN = "order-select", "order-sign"
GRAM_UNITS = {"g", "克"}


@dataclass(frozen=True)
class OrderLine:
    """One herb line of the draft order, as the engine reads it."""

    path: str  # the JSON path of its MedicationRequest in the request
    resource: dict  # the MedicationRequest as sent (the suggestions' updates start from it)
    reference: str  # "MedicationRequest/<id>"
    herb: str  # the catalogue name for a coded herb, else the name as written
    grams: Decimal | None  # per dose; None while the clinician has not given it (order-select)
    instruction: str  # the decoction methods named, as Chinese labels joined by "、"; "" for none


@dataclass(frozen=True)
class HookRequest:
    hook: str
    hook_instance: str
    patient_id: str
    lines: tuple  # of OrderLine, in the Bundle's order
    unchecked: tuple  # what the orders that are not herb lines are called, in the Bundle's order
    doses: int | None  # 剂数; None when no line gives it (order-select)
    facts: ClinicalFacts  # the patient's, from the prefetch (interop.cds.prefetch)
    patient_given: bool  # whether the prefetch had a Patient (sex and age)


@dataclass
class _Pending:
    """A MedicationRequest read so far: its herb name still to be looked up."""

    path: str
    resource: dict
    herb_id: int | None
    code_path: str
    written: str
    foreign: bool  # coded in another system only: a herb only if its name is one
    grams: Decimal | None
    instruction: str
    doses: int | None


def parse_request(body, *, hook: str) -> HookRequest:
    """The request of a service of `hook` (order-select or order-sign), with the patient's facts
    from its prefetch. Raises ValidationError with every refused field, of the request and of the
    prefetch together, at its JSON path (`hookInstance`, `context.selections[0]`,
    `context.draftOrders.entry[2].resource.dosageInstruction[0].doseAndRate[0].doseQuantity.value`)."""
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [_("Send a CDS Hooks request: a JSON object.")]})
    problems = Problems()
    sent_hook = problems.text(body.get("hook"), "hook")
    if sent_hook is not None and sent_hook != hook:
        problems.add("hook", _("This service answers the “%(hook)s” hook.") % {"hook": hook})
    instance = problems.text(body.get("hookInstance"), "hookInstance")
    if instance is not None and not _is_uuid(instance):
        problems.add("hookInstance", _("Give a UUID."))
    problems.text(body.get("fhirServer"), "fhirServer", required=False)
    problems.object(body.get("fhirAuthorization"), "fhirAuthorization", required=False)
    prefetch = problems.object(body.get("prefetch"), "prefetch", required=False) or {}
    context = problems.object(body.get("context"), "context")
    patient_id, lines, unchecked, doses = "", [], [], None
    if context is not None:
        problems.text(context.get("userId"), "context.userId")
        patient_id = problems.text(context.get("patientId"), "context.patientId") or ""
        problems.text(context.get("encounterId"), "context.encounterId", required=False)
        lines, unchecked, doses = _draft_orders(problems, context.get("draftOrders"), hook=hook)
        if hook == ORDER_SELECT or "selections" in context:
            _selections(problems, context.get("selections"), context.get("draftOrders"))
    facts, patient_given = facts_from_prefetch(problems, prefetch, patient_id=patient_id)
    problems.raise_any()
    return HookRequest(hook, instance, patient_id, tuple(lines), tuple(unchecked), doses, facts, patient_given)


def _is_uuid(text: str) -> bool:
    """A UUID in its canonical form (8-4-4-4-12 hex digits), the OpenAPI `uuid` format."""
    return UUID.fullmatch(text) is not None


def _draft_orders(problems: Problems, bundle, *, hook: str) -> tuple[list, list, int | None]:
    path = "context.draftOrders"
    bundle = problems.resource(bundle, path, "Bundle")
    if bundle is None:
        return [], [], None
    entries = problems.array(bundle.get("entry"), f"{path}.entry", required=True)
    if not entries and not problems.at(f"{path}.entry"):
        problems.add(f"{path}.entry", _("Send at least one draft order."))
    if len(entries) > MAX_ENTRIES:
        problems.add(f"{path}.entry", _("Send at most %(n)d draft orders.") % {"n": MAX_ENTRIES})
        return [], [], None
    pending, unchecked = [], []
    for index, entry in enumerate(entries):
        entry_path = f"{path}.entry[{index}]"
        entry = problems.object(entry, entry_path)
        resource = problems.object(entry.get("resource"), f"{entry_path}.resource") if entry is not None else None
        if resource is None:
            continue
        resource_path = f"{entry_path}.resource"
        kind = problems.text(resource.get("resourceType"), f"{resource_path}.resourceType")
        if kind == "MedicationRequest":
            line = _medication_request(problems, resource, resource_path, hook=hook)
            if isinstance(line, _Pending):
                pending.append(line)
            elif line:
                unchecked.append(line)
        elif kind:
            unchecked.append(_called(resource, kind))
    lines = _resolved(problems, pending, unchecked)
    if len(lines) > MAX_ITEMS:
        problems.add(f"{path}.entry", _("A prescription has at most %(n)d herbs.") % {"n": MAX_ITEMS})
    return lines, unchecked, _doses(problems, pending, hook=hook)


def _called(resource: dict, kind: str) -> str:
    """What an order that is not checked is called in the notice: its id, e.g. ServiceRequest/7."""
    rid = resource.get("id")
    return f"{kind}/{rid}" if isinstance(rid, str) and FHIR_ID.fullmatch(rid) else kind


def _medication_request(problems: Problems, resource: dict, path: str, *, hook: str):
    """A _Pending herb line, the name of an order that is not one, or None when refused."""
    rid = resource.get("id")
    if not isinstance(rid, str) or not FHIR_ID.fullmatch(rid):
        problems.add(f"{path}.id", _("Give the resource an id: 1 to 64 letters, digits, “-” or “.”."))
    concept_path = f"{path}.medicationCodeableConcept"
    concept = problems.object(resource.get("medicationCodeableConcept"), concept_path, required=False)
    if concept is None:
        if isinstance(resource.get("medicationReference"), dict):
            return _called(resource, "MedicationRequest")
        if not problems.at(concept_path):
            problems.add(concept_path, _("Name the herb: a code of the herb code system, or its Chinese name in text."))
        return None
    herb_id, code_path, foreign = None, "", False
    for coding_path, coding in codings(problems, concept, concept_path):
        if coding.get("system") == code_system("herb"):
            herb_id, code_path = herb_id_of(coding.get("code")), f"{coding_path}.code"
            if herb_id is None:
                problems.add(code_path, _("No herb with this code in the catalogue."))
        elif coding.get("system"):
            foreign = True
    written = concept_text(concept)
    if herb_id is None and not written and not problems.at(concept_path):
        problems.add(concept_path, _("Name the herb: a code of the herb code system, or its Chinese name in text."))
    dosage_path = f"{path}.dosageInstruction[0]"
    dosages = problems.array(resource.get("dosageInstruction"), f"{path}.dosageInstruction")
    dosage = problems.object(dosages[0], dosage_path) if dosages else None
    grams = _grams(problems, dosage or {}, dosage_path)
    if grams is None and hook == ORDER_SIGN and not problems.at(dosage_path):
        problems.add(
            f"{dosage_path}.doseAndRate[0].doseQuantity",
            _("Give the dose in grams: order-sign checks the dose of every herb."),
        )
    instruction = _instruction(problems, dosage or {}, dosage_path)
    doses = _line_doses(problems, resource, path)
    if problems.at(path):
        return None
    return _Pending(path, resource, herb_id, code_path, written, foreign and herb_id is None, grams, instruction, doses)


def _grams(problems: Problems, dosage: dict, path: str) -> Decimal | None:
    rates = problems.array(dosage.get("doseAndRate"), f"{path}.doseAndRate")
    rate = problems.object(rates[0], f"{path}.doseAndRate[0]") if rates else None
    quantity_path = f"{path}.doseAndRate[0].doseQuantity"
    quantity = problems.object((rate or {}).get("doseQuantity"), quantity_path, required=False)
    if quantity is None:
        return None
    value = quantity.get("value")
    try:
        grams = None if isinstance(value, bool) or value is None else Decimal(str(value))
    except (InvalidOperation, ValueError):
        grams = None
    if not isinstance(value, (int, float)) or grams is None or not grams.is_finite() or not 0 < grams <= MAX_GRAMS:
        problems.add(f"{quantity_path}.value", _("Grams must be more than 0 and at most 500."))
        return None
    unit, code = quantity.get("unit"), quantity.get("code")
    if (unit is not None and not (isinstance(unit, str) and unit in GRAM_UNITS)) or (code is not None and code != "g"):
        problems.add(quantity_path, _("Give the dose in grams (unit “g”)."))
        return None
    return grams


def _instruction(problems: Problems, dosage: dict, path: str) -> str:
    """The decoction methods of a line as Chinese labels joined by "、" (the engine reads a
    label, or labels inside a longer text): coded ones, and those an instruction names in words.
    An instruction about something else (饭后服) names no method and is passed over."""
    labels = []
    list_path = f"{path}.additionalInstruction"
    for index, concept in enumerate(problems.array(dosage.get("additionalInstruction"), list_path)):
        concept_path = f"{list_path}[{index}]"
        concept = problems.object(concept, concept_path)
        if concept is None:
            continue
        coded = False
        for coding_path, coding in codings(problems, concept, concept_path):
            if coding.get("system") == code_system("special-decoction"):
                coded = True
                code = coding.get("code")
                if code in SPECIAL_LABELS and code in SpecialDecoction.values:
                    labels.append(SPECIAL_LABELS[code])
                else:
                    problems.add(f"{coding_path}.code", _("Unknown decoction instruction."))
        if not coded:
            text = concept_text(concept)
            labels.extend(label for label in LABEL_TO_SPECIAL if label in text)
    return "、".join(dict.fromkeys(labels))


def _line_doses(problems: Problems, resource: dict, path: str) -> int | None:
    request_path = f"{path}.dispenseRequest"
    dispense = problems.object(resource.get("dispenseRequest"), request_path, required=False) or {}
    quantity = problems.object(dispense.get("quantity"), f"{request_path}.quantity", required=False) or {}
    if "value" not in quantity:
        return None
    doses = whole_number(quantity["value"]) if isinstance(quantity["value"], (int, float)) else None
    if doses is None or not 1 <= doses <= MAX_DOSES:
        problems.add(f"{request_path}.quantity.value", _("Doses must be between 1 and 60."))
        return None
    return doses


def _resolved(problems: Problems, pending: list, unchecked: list) -> list[OrderLine]:
    """The herb lines with their names: coded herbs looked up by id (one query), names of
    medicines coded in another system looked up as written (one query); a coded name that is
    no catalogue herb is another medicine, not checked."""
    ids = {line.herb_id for line in pending if line.herb_id}
    names_by_id = dict(herb_catalogue().filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    foreign = [line.written for line in pending if line.foreign and line.written]
    herbs = herb_resolve_many(foreign) if foreign else {}
    lines = []
    for line in pending:
        herb = names_by_id.get(line.herb_id) if line.herb_id else line.written
        if line.herb_id and herb is None:
            herb = line.written
            if not herb:
                problems.add(line.code_path, _("No herb with this code in the catalogue."))
                continue
        if (line.foreign and line.written not in herbs) or len(herb) > MAX_HERB_NAME:
            # Another medicine: a name coded elsewhere that is no herb, or longer than any herb's.
            unchecked.append(echo(line.written, MAX_HERB_NAME) or _called(line.resource, "MedicationRequest"))
            continue
        reference = f"MedicationRequest/{line.resource['id']}"
        lines.append(OrderLine(line.path, line.resource, reference, herb, line.grams, line.instruction))
    return lines


def _doses(problems: Problems, pending: list, *, hook: str) -> int | None:
    """The doses of the order: every herb line that gives them gives the same number; order-sign
    needs them on one line at least."""
    given = [line for line in pending if line.doses is not None]
    for line in given[1:]:
        if line.doses != given[0].doses:
            problems.add(
                f"{line.path}.dispenseRequest.quantity.value",
                _("Every herb line of one order gives the same number of doses."),
            )
    if not given and pending and hook == ORDER_SIGN:
        problems.add(
            f"{pending[0].path}.dispenseRequest.quantity.value",
            _("Give the number of doses: order-sign checks the limits over all doses."),
        )
    return given[0].doses if given else None


def _selections(problems: Problems, selections, bundle) -> None:
    """order-select's `context.selections` (refused the same way if another hook sends it): at
    least one, each a reference to an order of the draft (MedicationRequest/1)."""
    known = set()
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            known.add(f"{resource.get('resourceType')}/{resource['id']}")
    listed = problems.array(selections, "context.selections", required=True)
    if not listed and not problems.at("context.selections"):
        problems.add("context.selections", _("Send at least one selection."))
    for index, selection in enumerate(listed):
        if not isinstance(selection, str) or selection not in known:
            problems.add(
                f"context.selections[{index}]",
                _("Name an order of context.draftOrders, e.g. “MedicationRequest/1”."),
            )
