"""Schemathesis over the OpenAPI schema, in process against the WSGI app and the test database:
generated requests for every operation, as each role, must never get a 5xx."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from tcm_platform.wsgi import application

from .factories import PatientFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

ROLES = ["clinician", "pharmacist", "dispenser", "decoctor", "courier", "county_admin"]


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
    """A token per role, and a patient and prescription for the id-taking operations to find."""
    monkeypatch.setattr("core.tasks.enqueue", lambda *args: None)
    users = {role: request.getfixturevalue(role) for role in ROLES}
    PatientFactory(institution=county["T001"])
    return {role: Token.objects.get_or_create(user=user)[0].key for role, user in users.items()}


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error_whatever_the_role(case, tokens):
    for token in tokens.values():
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error])
