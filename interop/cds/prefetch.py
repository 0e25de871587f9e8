"""The patient's clinical facts from a CDS Hooks request's prefetch, and nothing that identifies
them: sex and age from `patient` (Patient.gender, Patient.birthDate), pregnancy from `pregnancy`
(Observations of LOINC 82810-3), weight from `weight` (Observations of LOINC 29463-7, kg) and
herb allergies from `allergies` (AllergyIntolerance). Each is optional: a missing or null value
is the unknown fact the platform's precheck uses (pregnancy unknown, no age: no child or elderly
rule), never an error. A malformed one is a 400 at its path (`prefetch.patient.birthDate`); facts
that cannot be right together (a pregnant male, an age over 130) are refused by the rule the
precheck uses (prescriptions.services.drafting.clean_facts), reported at the prefetch's path."""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from catalogue.selectors import herb_catalogue
from core.input import echo
from prescriptions.services.checking import years_since
from prescriptions.services.drafting import MAX_HERB_NAME, ClinicalFacts, clean_facts

from .codes import BODY_WEIGHT, LOINC, PREGNANCY_ANSWERS, PREGNANCY_STATUS, code_system, herb_id_of
from .reading import Problems, codings, concept_text, resources_of

GENDERS = {"male": "M", "female": "F", "other": "", "unknown": ""}
FHIR_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
# clean_facts' paths → where those facts came from in the request.
FACT_PATHS = {
    "consult.pregnancy": "prefetch.pregnancy",
    "patient.age_years": "prefetch.patient.birthDate",
    "consult.weight_kg": "prefetch.weight",
}
NOT_IN_FORCE = {"inactive", "resolved", "refuted", "entered-in-error"}


def facts_from_prefetch(problems: Problems, prefetch: dict, *, patient_id: str) -> tuple[ClinicalFacts | None, bool]:
    """(the clinical facts, whether a Patient was prefetched); the facts are None when anything in
    the prefetch was refused, each refusal added to `problems` at the prefetch's path. A Patient
    whose id is not context.patientId is refused (the facts would be another person's)."""
    patient = problems.resource(prefetch.get("patient"), "prefetch.patient", "Patient", required=False)
    sex, age = "", None
    if patient is not None:
        rid = patient.get("id")
        if patient_id and rid is not None and rid != patient_id and f"Patient/{rid}" != patient_id:
            problems.add("prefetch.patient.id", _("This is not the patient of context.patientId."))
        gender = patient.get("gender")
        if gender is not None and not (isinstance(gender, str) and gender in GENDERS):
            problems.add("prefetch.patient.gender", _("Give male, female, other or unknown."))
        sex = GENDERS.get(gender, "") if isinstance(gender, str) else ""
        age = _age(problems, patient.get("birthDate"), "prefetch.patient.birthDate")
    pregnancy = _pregnancy(problems, prefetch.get("pregnancy"))
    weight = _weight(problems, prefetch.get("weight"))
    allergies = _allergies(problems, prefetch.get("allergies"))
    if problems.at("prefetch"):
        return None, patient is not None
    try:
        # The allergy names go to the engine as written: it reads each literally through the
        # alias table, and one that names no herb (青霉素) is its allergy.unrecognised warning.
        facts = clean_facts(sex=sex, age_years=age, pregnancy=pregnancy, weight_kg=weight, known_allergies=allergies)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            for message in messages:
                problems.add(FACT_PATHS.get(key, key), message)
        return None, patient is not None
    return facts, patient is not None


def _age(problems: Problems, value, path: str) -> Decimal | None:
    """Years since a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD; a partial date is read at its middle)."""
    if value is None:
        return None
    match = FHIR_DATE.fullmatch(value) if isinstance(value, str) else None
    try:
        year, month, day = (int(part) if part else None for part in match.groups())
        born = date(year, month or 7, day or (15 if month else 1))
    except (AttributeError, ValueError):
        problems.add(path, _("Give the date of birth as YYYY-MM-DD."))
        return None
    if born > timezone.localdate():
        problems.add(path, _("The date of birth cannot be in the future."))
        return None
    return years_since(born)


def _observations(problems: Problems, value, path: str, code: str) -> list[tuple[str, dict]]:
    """The prefetched Observations of the LOINC `code` in force, latest (effectiveDateTime) last."""
    found = []
    for resource_path, resource in resources_of(problems, value, path, "Observation"):
        concept = problems.object(resource.get("code"), f"{resource_path}.code")
        if concept is None:
            continue
        coded = {(c.get("system"), c.get("code")) for _path, c in codings(problems, concept, f"{resource_path}.code")}
        if (LOINC, code) in coded and resource.get("status") not in ("entered-in-error", "cancelled"):
            found.append((resource_path, resource))
    return sorted(found, key=lambda pair: str(pair[1].get("effectiveDateTime") or ""))


def _pregnancy(problems: Problems, value) -> str:
    """A patients.models.Pregnancy value from the latest pregnancy status; "" when none."""
    observations = _observations(problems, value, "prefetch.pregnancy", PREGNANCY_STATUS)
    if not observations:
        return ""
    path, observation = observations[-1]
    concept = problems.object(observation.get("valueCodeableConcept"), f"{path}.valueCodeableConcept")
    answers = [c.get("code") for _p, c in codings(problems, concept or {}, f"{path}.valueCodeableConcept")]
    known = [PREGNANCY_ANSWERS[code] for code in answers if code in PREGNANCY_ANSWERS]
    if concept is not None and not known:
        problems.add(
            f"{path}.valueCodeableConcept",
            _("Give LA15173-0 (pregnant), LA26683-5 (not pregnant) or LA4489-6 (unknown)."),
        )
    return known[0] if known else ""


def _weight(problems: Problems, value) -> Decimal | None:
    """The latest body weight in kg; None when none."""
    observations = _observations(problems, value, "prefetch.weight", BODY_WEIGHT)
    if not observations:
        return None
    path, observation = observations[-1]
    quantity = problems.object(observation.get("valueQuantity"), f"{path}.valueQuantity") or {}
    number = quantity.get("value")
    try:
        weight = Decimal(str(number)) if isinstance(number, (int, float)) and not isinstance(number, bool) else None
    except (InvalidOperation, ValueError):  # ValueError: an integer of thousands of digits
        weight = None
    if quantity and (weight is None or quantity.get("unit", "kg") != "kg" or quantity.get("code", "kg") != "kg"):
        problems.add(f"{path}.valueQuantity", _("Give the weight in kg."))
        return None
    return weight


def _allergies(problems: Problems, value) -> list[str]:
    """The herb names of the allergies in force: a coding of the herb code system (the catalogue
    name), else the code's text or display. Allergies no longer in force (clinicalStatus
    inactive or resolved, verificationStatus refuted or entered-in-error) and those of a category
    other than medication (food, environment) are passed over."""
    named, coded = [], {}
    for path, resource in resources_of(problems, value, "prefetch.allergies", "AllergyIntolerance"):
        statuses = set()
        for key in ("clinicalStatus", "verificationStatus"):
            concept = problems.object(resource.get(key), f"{path}.{key}", required=False) or {}
            statuses.update(c.get("code") for _p, c in codings(problems, concept, f"{path}.{key}"))
        categories = problems.array(resource.get("category"), f"{path}.category")
        concept = problems.object(resource.get("code"), f"{path}.code", required=False)
        if concept is None or statuses & NOT_IN_FORCE or (categories and "medication" not in categories):
            continue
        for _p, coding in codings(problems, concept, f"{path}.code"):
            if coding.get("system") == code_system("herb") and herb_id_of(coding.get("code")) is not None:
                coded[len(named)] = herb_id_of(coding.get("code"))
        named.append(echo(concept_text(concept), MAX_HERB_NAME))  # no herb's name is longer
    if coded:
        names = dict(herb_catalogue().filter(pk__in=set(coded.values())).values_list("pk", "name"))
        for index, herb_id in coded.items():
            named[index] = names.get(herb_id) or named[index]
    return [name for name in dict.fromkeys(named) if name]
