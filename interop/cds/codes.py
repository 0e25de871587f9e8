"""The code systems a CDS Hooks request and its cards speak: the platform's own (herbs, decoction
instructions, audit findings, under SITE_URL/fhir/CodeSystem/, the names the FHIR read API uses
too) and the LOINC codes of the prefetched observations."""

from django.conf import settings

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PREGNANCY_STATUS = "82810-3"  # Pregnancy status
BODY_WEIGHT = "29463-7"  # Body weight
# LOINC answers of 82810-3 → patients.models.Pregnancy values.
PREGNANCY_ANSWERS = {"LA15173-0": "yes", "LA26683-5": "no", "LA4489-6": "unknown"}


def code_system(name: str) -> str:
    """The URL of one of the platform's code systems: `herb` (code: the catalogue herb id),
    `special-decoction` (code: a catalogue.models.SpecialDecoction value), `audit-finding` (code:
    a finding code of rules.data.CODES)."""
    return f"{settings.SITE_URL}/fhir/CodeSystem/{name}"


def herb_id_of(code) -> int | None:
    """The catalogue herb id a code of the herb code system stands for: ASCII digits, at most nine
    (no herb id is longer; a longer number would not fit the database's integer)."""
    text = str(code or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 and int(text) > 0 else None
