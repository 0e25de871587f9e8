"""Reading JSON that comes from another system, field by field: each value checked for the type
the CDS Hooks and FHIR texts give it, and every refusal kept at its JSON path
(`context.draftOrders.entry[2].resource.id`) so that all of a request's errors are answered
together, in the API's 400 (core.api: {"detail", "errors": {path: [messages]}}).

Only the fields the order check reads are checked: a FHIR resource may carry anything else (the
CDS Hooks specification's own examples do not pass a strict FHIR validation)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class Problems:
    """The errors of one request by JSON path; `raise_any` raises them together."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message) -> None:
        self.errors.setdefault(path, []).append(str(message))

    def raise_any(self) -> None:
        """Raise ValidationError({path: [messages]}) when anything was refused."""
        if self.errors:
            raise ValidationError(self.errors)

    def at(self, path: str) -> bool:
        """Whether anything at `path` or below it was refused."""
        return any(key == path or key.startswith((f"{path}.", f"{path}[")) for key in self.errors)

    def object(self, value, path: str, *, required: bool = True) -> dict | None:
        """`value` when it is a JSON object; None (an error at `path` if required) otherwise."""
        if value is None:
            if required:
                self.add(path, _("This field is required."))
            return None
        if not isinstance(value, dict):
            self.add(path, _("Send an object."))
            return None
        return value

    def array(self, value, path: str, *, required: bool = False) -> list:
        """`value` when it is a JSON array ([] when absent and not required)."""
        if value is None:
            if required:
                self.add(path, _("This field is required."))
            return []
        if not isinstance(value, list):
            self.add(path, _("Send a list."))
            return []
        return value

    def text(self, value, path: str, *, required: bool = True) -> str | None:
        """`value` stripped when it is a non-empty JSON string; None otherwise."""
        if value is None:
            if required:
                self.add(path, _("This field is required."))
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, _("Give a non-empty text."))
            return None
        return value.strip()

    def resource(self, value, path: str, kind: str, *, required: bool = True) -> dict | None:
        """A FHIR resource of type `kind` (an object whose resourceType is `kind`)."""
        resource = self.object(value, path, required=required)
        if resource is not None and resource.get("resourceType") != kind:
            self.add(f"{path}.resourceType", _("Send a %(kind)s resource.") % {"kind": kind})
            return None
        return resource


def codings(problems: Problems, concept: dict, path: str) -> list[tuple[str, dict]]:
    """(path, coding) of each well-formed coding of a CodeableConcept; a coding that is not an
    object, or whose system or code is not text, is refused at its path (and a text that is not
    text at `<path>.text`)."""
    if "text" in concept and not isinstance(concept["text"], str):
        problems.add(f"{path}.text", _("Give a non-empty text."))
    found = []
    for index, coding in enumerate(problems.array(concept.get("coding"), f"{path}.coding")):
        coding_path = f"{path}.coding[{index}]"
        coding = problems.object(coding, coding_path)
        if coding is None:
            continue
        for key in ("system", "code", "display"):
            if key in coding and not isinstance(coding[key], str):
                problems.add(f"{coding_path}.{key}", _("Give a non-empty text."))
        if not problems.at(coding_path):
            found.append((coding_path, coding))
    return found


def concept_text(concept: dict) -> str:
    """What a CodeableConcept says in words: its text, else the first coding's display."""
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    listed = concept.get("coding")
    for coding in listed if isinstance(listed, list) else ():
        display = coding.get("display") if isinstance(coding, dict) else None
        if isinstance(display, str) and display.strip():
            return display.strip()
    return ""


def resources_of(problems: Problems, value, path: str, kind: str) -> list[tuple[str, dict]]:
    """(path, resource) of each `kind` resource in a prefetched value: one such resource, or a
    Bundle whose entries hold them (other resources in the Bundle, e.g. an OperationOutcome, are
    passed over). None (the EHR found nothing) is no resource."""
    value = problems.object(value, path, required=False)
    if value is None:
        return []
    if value.get("resourceType") == kind:
        return [(path, value)]
    if value.get("resourceType") != "Bundle":
        problems.add(f"{path}.resourceType", _("Send a %(kind)s resource or a Bundle of them.") % {"kind": kind})
        return []
    found = []
    for index, entry in enumerate(problems.array(value.get("entry"), f"{path}.entry")):
        entry_path = f"{path}.entry[{index}]"
        entry = problems.object(entry, entry_path)
        resource = problems.object(entry.get("resource"), f"{entry_path}.resource") if entry is not None else None
        if resource is not None and resource.get("resourceType") == kind:
            found.append((f"{entry_path}.resource", resource))
    return found
