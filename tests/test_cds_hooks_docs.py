"""docs/interop-cds-hooks.md tells the truth: every example request in it is sent to the services
and the answer must be the example response printed under it (card and suggestion uuids, which
are new on every call, compared as "a uuid"). After a change in the answers, rewrite the
examples from the running code with `CDS_DOCS_WRITE=1 pytest tests/test_cds_hooks_docs.py`
and read the diff."""

import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import api_token_issue

from .cds_hooks import DISCOVERY, SELECT, SIGN, allergies, hook_request, order, patient, pregnancy

pytestmark = pytest.mark.usefixtures("catalogue")

DOC = Path(settings.BASE_DIR) / "docs" / "interop-cds-hooks.md"
BLOCK = re.compile(r"<!-- example: (?P<name>[a-z0-9-]+) -->\n```json\n(?P<json>.*?)\n```", re.DOTALL)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SITE = "https://tcm.example.gov.cn"

SIGN_REQUEST = hook_request(
    [
        order("rx-1", "甘草", 6, doses=3),
        order("rx-2", "甘遂", 1, doses=3),
        order("rx-3", "附子", 9, doses=3),
    ],
    prefetch={"patient": patient(), "pregnancy": pregnancy("LA26683-5"), "allergies": allergies()},
)
SELECT_REQUEST = hook_request(
    [order("rx-1", "白术", 20, doses=None), order("rx-2", "茯苓", None, doses=None)],
    hook="order-select",
    selections=["MedicationRequest/rx-2"],
    prefetch={"patient": patient(), "allergies": allergies("白芍")},
)
BAD_REQUEST = hook_request([order("rx-1", "甘草", "six", doses=3)], prefetch={"patient": patient(born="15/03/1980")})


def examples(client) -> dict:
    """Each example of the document by name: the requests as built above, the answers as the
    services give them (with the status on the first line of an error's block)."""
    found = {"discovery-response": client.get(DISCOVERY).json()}
    for name, url, body in (
        ("order-sign", SIGN, SIGN_REQUEST),
        ("order-select", SELECT, SELECT_REQUEST),
        ("bad-request", SIGN, BAD_REQUEST),
        ("unknown-service", "/cds-services/tcm-herbal-order-dispense", SIGN_REQUEST),
    ):
        response = client.post(url, body, content_type="application/json")
        if name != "unknown-service":
            found[f"{name}-request"] = body
        found[f"{name}-response"] = response.json()
    return found


def text(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def same_but_uuids(value) -> str:
    return UUID.sub("<uuid>", text(value))


@pytest.fixture
def his(clinician, settings):
    settings.SITE_URL = SITE
    _token, secret = api_token_issue(user=clinician, name="HIS")
    client = Client(headers={"Authorization": f"Token {secret}"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the examples' own words stay as they are
    return client


def test_the_documents_example_requests_get_the_example_responses_printed_under_them(his):
    actual = examples(his)
    document = DOC.read_text(encoding="utf-8")
    if os.environ.get("CDS_DOCS_WRITE"):
        document = BLOCK.sub(
            lambda m: f"<!-- example: {m['name']} -->\n```json\n{text(actual[m['name']])}\n```", document
        )
        DOC.write_text(document, encoding="utf-8")
    printed = {m["name"]: json.loads(m["json"]) for m in BLOCK.finditer(document)}

    assert set(printed) == set(actual)
    for name, value in actual.items():
        assert same_but_uuids(printed[name]) == same_but_uuids(value), name
