"""Schemathesis over the OpenAPI schema, in process against the WSGI app and the test database:
generated requests for every operation, as each role, must never get a 5xx. An operation that
takes an id is also fuzzed against real objects: a prescription at every stage of the pipeline
(the prescription and audit operations), its patient, a herb and a formula.

Bounded by hypothesis: 3 examples per operation; each example is sent once with its generated id
and once per role against a real object, the roles taking the objects in turn, so 3 examples × 6
roles cover the 14 stages without sending every example to every stage."""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from accounts.services import api_token_issue
from catalogue.models import Formula, Herb
from prescriptions.workflow import Stage
from tcm_platform.wsgi import application

from .factories import PatientFactory
from .test_tracking import prescription_at
from .test_workflow import put_at

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

ROLES = ["clinician", "pharmacist", "dispenser", "decoctor", "courier", "county_admin"]
# prescription_at reaches the stages up to packaged by the path (an event per stage); the others
# are placed from the stage before them.
PLACED = {
    Stage.REJECTED: Stage.AI_AUDITED,
    Stage.CANCELLED: Stage.SUBMITTED,
    Stage.RECHECK_FAILED: Stage.DISPENSED,
    Stage.SHIPPED: Stage.PACKAGED,
    Stage.DELIVERED: Stage.PACKAGED,
}


@pytest.fixture
def in_test_transaction():
    """Like Django's test client: requests must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(request, county, catalogue, monkeypatch, in_test_transaction):
    """A token per role, and a patient for the operations that list or create."""
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    users = {role: request.getfixturevalue(role) for role in ROLES}
    PatientFactory(institution=county["T001"])
    return {role: api_token_issue(user=user, name="fuzz")[1] for role, user in users.items()}


def at_every_stage(clinician) -> list[int]:
    """The id of a prescription at each stage (picked up: a pickup prescription)."""
    ids = []
    for stage in Stage.values:
        if stage in PLACED:
            prescription = put_at(prescription_at(clinician, PLACED[stage]), stage)
        elif stage == Stage.PICKED_UP:
            prescription = put_at(prescription_at(clinician, Stage.PACKAGED, delivery="pickup"), stage)
        else:
            prescription = prescription_at(clinician, stage)
        ids.append(prescription.pk)
    assert len(ids) == len(Stage.values) == 14
    return ids


def real_ids(request, path: str) -> list[int]:
    """The real objects an id-taking operation is fuzzed against (the first call builds them)."""
    cache = request.node.__dict__.setdefault("_real_ids", {})
    kind = path.split("/")[3]  # /api/v1/<kind>/{id}/...
    if kind not in cache:
        if kind in ("prescriptions", "audit"):
            cache[kind] = at_every_stage(request.getfixturevalue("clinician"))
        elif kind == "patients":
            cache[kind] = [prescription_at(request.getfixturevalue("clinician"), Stage.SUBMITTED).patient_id]
        elif kind == "herbs":
            cache[kind] = [Herb.objects.order_by("pk").values_list("pk", flat=True).first()]
        elif kind == "formulas":
            cache[kind] = [Formula.objects.order_by("pk").values_list("pk", flat=True).first()]
        else:
            raise AssertionError(f"an id-taking operation with no real objects: {path}")
        assert cache[kind] and None not in cache[kind], kind
        cache[kind + ":turn"] = itertools.cycle(cache[kind])
        cache[kind + ":seen"] = set()
    return cache, kind


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error_whatever_the_role(case, tokens, request):
    headers = {role: {"Authorization": f"Token {token}"} for role, token in tokens.items()}
    if "id" not in (case.path_parameters or {}):
        for role in ROLES:
            case.call_and_validate(headers=headers[role], checks=[not_a_server_error])
        return
    case.call_and_validate(headers=headers[ROLES[0]], checks=[not_a_server_error])  # the generated id
    cache, kind = real_ids(request, case.operation.path)
    for role in ROLES:
        case.path_parameters["id"] = next(cache[kind + ":turn"])
        cache[kind + ":seen"].add(case.path_parameters["id"])
        case.call_and_validate(headers=headers[role], checks=[not_a_server_error])
    # Every real object meets the operation within its first example's rounds (6 roles per example).
    assert len(cache[kind + ":seen"]) >= min(len(cache[kind]), len(ROLES))
