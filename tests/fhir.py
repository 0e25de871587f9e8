"""What the FHIR API's tests share: a read that checks the answer's media type, and the validation
of every resource with the fhir.resources R4B models (a Bundle's entries and contained resources
each validated as their own type too)."""

from collections import Counter

from fhir.resources.R4B import get_fhir_model_class

FHIR_JSON = "application/fhir+json; charset=utf-8"


def validated(resource: dict) -> dict:
    """`resource` once fhir.resources' model of its type accepts it (raises ValidationError if not)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", ()):
        validated(entry["resource"])
    for contained in resource.get("contained", ()):
        validated(contained)
    return resource


def read(client, url: str, status: int = 200, **extra) -> dict:
    """GET `url` (`extra`: WSGI headers such as HTTP_ACCEPT): the answer's JSON, once its status,
    media type and FHIR validity are as they must be."""
    response = client.get(url, **extra)
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"] == FHIR_JSON
    return validated(response.json())


def outcome(client, url: str, status: int, code: str, **extra) -> dict:
    """An OperationOutcome answer with `status` and the issue code `code`."""
    answer = read(client, url, status, **extra)
    assert answer["resourceType"] == "OperationOutcome"
    assert [issue["code"] for issue in answer["issue"]] == [code]
    return answer


def types_in(bundle: dict) -> Counter:
    return Counter(entry["resource"]["resourceType"] for entry in bundle.get("entry", ()))


def of_type(bundle: dict, resource_type: str) -> list[dict]:
    return [
        entry["resource"] for entry in bundle.get("entry", ()) if entry["resource"]["resourceType"] == resource_type
    ]
