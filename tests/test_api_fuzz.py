"""Schemathesis over the OpenAPI schema, in process against the WSGI app and the test database:
generated requests for every operation, as each role, pass every check schemathesis has (what
`--checks all` runs): never a 5xx, only documented statuses, content types, headers and bodies,
invalid data refused, valid data accepted, credentials enforced. An operation that
takes an id is also fuzzed against real objects: a prescription at every stage of the pipeline
(the prescription and audit operations), its patient, a herb and a formula, and the FHIR API's
resources of such prescriptions (fhir_ids).

Bounded by hypothesis: 3 examples per operation; each example is sent once with its generated id
and once per role against a real object, the roles taking the objects in turn, so 3 examples × 6
roles cover the 14 stages without sending every example to every stage.

The first two examples are also sent once per role made hostile (what core.input refuses): every
string of the query and body with a NUL byte, of the body with an unpaired surrogate, or as digits
of other scripts, every number not finite, the body nested 100,000 deep, an id of other digits in
the path. The roles take the hostile kinds in turn, so each kind reaches each operation three
times; those answers too must pass every check."""

import itertools
import json
import re
from datetime import date, time, timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.transport.wsgi import WSGI_TRANSPORT, multipart_serializer
from werkzeug.test import stream_encode_multipart

from accounts.roles import Role
from accounts.services import api_token_issue
from audit.models import ReviewRound, ReviewSample
from catalogue.models import Formula, Herb
from decoction.models import DispensingRecord
from delivery.services import run_create
from interop.fhir.resources.capability import CODE_SYSTEMS
from outreach.services import session_save
from prescriptions.workflow import Stage
from tcm_platform.wsgi import application

from .factories import PatientFactory, UserFactory
from .test_tracking import prescription_at
from .test_workflow import put_at

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@WSGI_TRANSPORT.serializer("multipart/form-data")
def multipart_with_empty_fields(ctx, value):
    """Werkzeug's encoder writes an empty text field with no line break before the next boundary,
    and Django's parser then drops the field: a blank required `mobile` never reached the API. The
    body here has the line break, as browsers and Django's test client send it."""
    serialized = multipart_serializer(ctx, value)
    if not isinstance(serialized.get("data"), dict):
        return serialized
    stream, _, boundary = stream_encode_multipart(serialized["data"])
    delimiter = re.escape(b"--" + boundary.encode())
    body = re.sub(rb'(form-data; name="[^"\r\n]*"\r\n\r\n)(' + delimiter + rb")", rb"\1\r\n\2", stream.read())
    return {"data": body, "content_type": f'multipart/form-data; boundary="{boundary}"'}


# The roles' tokens are the credentials. A session cookie generated beside a valid token would be
# taken by ignored_auth for the credential that got in; without it, ignored_auth sends each
# accepted request again with no credentials and with refused ones, and wants a 403.
schema.config.generation.update(with_security_parameters=False)
# Valid data may still be refused by the business rules the schema cannot state (an unknown herb,
# a patient the caller may not see, a name already taken): a 400 in the error envelope, which
# response_schema_conformance checks against the documented 400, is such a refusal.
positive = schema.config.checks.positive_data_acceptance
positive.expected_statuses = [*positive.expected_statuses, "400"]
# `--checks all`: call_and_validate with no `checks=` runs the checks the config enables.
schema.config.checks.update(included_check_names=["all"])

ROLES = ["clinician", "pharmacist", "dispenser", "decoctor", "courier", "county_admin"]


def strings_replaced(value, string, number):
    """`value` with every string (keys kept) replaced by `string(text)` and every number by `number`."""
    if isinstance(value, dict):
        return {key: strings_replaced(item, string, number) for key, item in value.items()}
    if isinstance(value, list):
        return [strings_replaced(item, string, number) for item in value]
    if isinstance(value, str):
        return string(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number
    return value


def nested(value, depth=100_000):
    """`value` as JSON text inside `depth` arrays (text: the client's JSON encoder would recurse)."""
    return "[" * depth + json.dumps(value) + "]" * depth


# Each a function of (path parameters, query, body) → the same, made hostile. The first two examples
# of an operation are sent made hostile, one kind per role in turn: each kind three times, each
# role twice (the later examples add little: a refused request never reaches the code that differs).
HOSTILE_PER_OPERATION = 2 * len(ROLES)
HOSTILE = [
    lambda path, query, body: (
        path,
        strings_replaced(query, lambda s: s + "\x00", "1\x00"),
        strings_replaced(body, lambda s: "\x00" + s, 1),
    ),
    lambda path, query, body: (
        path,
        query,  # a URL cannot carry a surrogate: its UTF-8 does not exist
        strings_replaced(body, lambda s: s + "\ud800", float("nan")),
    ),
    lambda path, query, body: (
        dict.fromkeys(path, "١٢"),
        strings_replaced(query, lambda s: "²", "１２"),
        strings_replaced(body, lambda s: "١٢", float("inf")),
    ),
    lambda path, query, body: (path, query, nested(body) if isinstance(body, (dict, list)) else body),
]


def hostile(case, kind: int):
    """A copy of `case` made hostile by HOSTILE[kind]."""
    body = None if isinstance(case.body, schemathesis.core.NotSet) else case.body
    path, query, body = HOSTILE[kind](dict(case.path_parameters or {}), dict(case.query or {}), body)
    # JSON where the operation takes it (the token endpoint takes a form too): the hostile bodies are JSON.
    json_taken = "application/json" in {alternative.media_type for alternative in case.operation.body}
    media_type = "application/json" if body is not None and json_taken else case.media_type
    made = case.operation.Case(path_parameters=path, query=query, media_type=media_type)
    if body is not None and media_type == "application/json":
        # Sent as bytes, as written: requests' JSON encoder refuses NaN and infinities.
        text = body if isinstance(body, str) else json.dumps(body, default=lambda value: repr(value))
        made.body = text.encode("utf-8", "surrogatepass")
    elif body is not None:
        made.body = case.body  # a multipart body (a photo) keeps its files; its fields are checked by the pages' tests
    return made


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


def review_samples(clinician) -> list[int]:
    """Two prescriptions of the clinician drawn for review at H001, where the pharmacist works."""
    drawn = ReviewRound.objects.create(month=date(2026, 1, 1), seed=202601, per_clinician=5, approved=2)
    return [
        ReviewSample.objects.create(
            round=drawn,
            prescription=prescription_at(clinician, Stage.APPROVED),
            institution=clinician.institution,
            prescriber=clinician,
            routed_to=clinician.institution.parent.parent,
        ).pk
        for _ in range(2)
    ]


def fhir_ids(request, kind: str) -> list[str]:
    """The ids of real FHIR resources of type `kind`: of prescriptions at every stage (their first
    line, first stage, first trace event), one with an audit finding, one dispensed, a patient, the
    prescriber and their institution, the CodeSystems."""
    clinician = request.getfixturevalue("clinician")
    if kind == "CodeSystem":
        return list(CODE_SYSTEMS)
    if kind in ("Patient", "Practitioner", "Organization"):
        patient = prescription_at(clinician, Stage.SUBMITTED).patient_id
        return [str({"Patient": patient, "Practitioner": clinician.pk, "Organization": clinician.institution_id}[kind])]
    if kind == "DetectedIssue":  # 薄荷 without its 后下: a finding
        return [f"{prescription_at(clinician, Stage.SUBMITTED, herbs=[('党参', '10'), ('薄荷', '6')]).pk}-1"]
    if kind == "MedicationDispense":
        dispensed = prescription_at(clinician, Stage.DISPENSED)
        record = DispensingRecord.objects.create(  # the row the station step writes, without its photo
            prescription=dispensed,
            dispenser=request.getfixturevalue("dispenser"),
            pharmacy=request.getfixturevalue("county")["P001"],
            weights=[],
        )
        return [f"{dispensed.pk}-{record.pk}"]
    local = {"MedicationRequest": "1", "Task": "submitted", "Provenance": "1"}[kind]
    return [f"{pk}-{local}" for pk in at_every_stage(clinician)]


def outreach_session(request):
    """A session of the clinician's at T001 a week from today, booked by the county administrator."""
    return session_save(
        actor=request.getfixturevalue("county_admin"),
        expert=request.getfixturevalue("clinician"),
        institution=request.getfixturevalue("county")["T001"],
        date=date.today() + timedelta(days=7),
        starts_at=time(8, 30),
        ends_at=time(11, 30),
    )


def remote_consults(request) -> list[int]:
    """Two remote consults the clinician of T001 asked of H001: one waiting, one with a question
    from an expert of H001 (claimed, then asked)."""
    from teleconsult.services import remote_consult_ask, remote_consult_claim, remote_consult_request

    clinician, county = request.getfixturevalue("clinician"), request.getfixturevalue("county")
    expert = UserFactory(institution=county["H001"], roles=[Role.CLINICIAN])
    made = []
    for complaint in ("头痛", "胃脘痛"):
        consult, _ = remote_consult_request(
            actor=clinician,
            patient_id=PatientFactory(institution=county["T001"]).pk,
            values={"chief_complaint": complaint},
        )
        made.append(consult.pk)
    remote_consult_claim(actor=expert, consult=consult)
    remote_consult_ask(actor=expert, consult=consult, question="舌苔如何？")
    return made


def real_ids(request, path: str) -> list[int]:
    """The real objects an id-taking operation is fuzzed against (the first call builds them)."""
    cache = request.node.__dict__.setdefault("_real_ids", {})
    parts = path.split("/")
    kind = parts[2] if parts[1] == "fhir" else parts[3]  # /api/v1/<kind>/{id}/..., /fhir/<Type>/{id}
    if kind not in cache:
        if parts[1] == "fhir":
            cache[kind] = fhir_ids(request, kind)
        elif kind in ("prescriptions", "audit", "stations"):
            cache[kind] = at_every_stage(request.getfixturevalue("clinician"))
        elif kind == "delivery":  # a run of the courier's and its stop
            parcel = prescription_at(request.getfixturevalue("clinician"), Stage.PACKAGED)
            run = run_create(courier=request.getfixturevalue("courier"), prescriptions=[parcel], area="白塔乡")
            cache[kind] = sorted({run.pk, run.stops.get().pk})
        elif kind == "patients":
            cache[kind] = [prescription_at(request.getfixturevalue("clinician"), Stage.SUBMITTED).patient_id]
        elif kind == "review":  # samples of the pharmacist's institution, drawn from approved ones
            cache[kind] = review_samples(request.getfixturevalue("clinician"))
        elif kind == "herbs":
            cache[kind] = [Herb.objects.order_by("pk").values_list("pk", flat=True).first()]
        elif kind == "formulas":
            cache[kind] = [Formula.objects.order_by("pk").values_list("pk", flat=True).first()]
        elif kind == "outreach":  # a visiting-expert session at T001, next week
            cache[kind] = [outreach_session(request).pk]
        elif kind == "remote-consults":
            cache[kind] = remote_consults(request)
        else:
            raise AssertionError(f"an id-taking operation with no real objects: {path}")
        assert cache[kind] and None not in cache[kind], kind
        cache[kind + ":turn"] = itertools.cycle(cache[kind])
        cache[kind + ":seen"] = set()
    return cache, kind


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_generated_request_passes_every_check_whatever_the_role(case, tokens, request):
    headers = {role: {"Authorization": f"Token {token}"} for role, token in tokens.items()}
    turn = request.node.__dict__.setdefault("_hostile_turn", itertools.count())
    for role, sent in zip(ROLES, turn, strict=False):
        if sent < HOSTILE_PER_OPERATION:
            hostile(case, sent % len(HOSTILE)).call_and_validate(headers=headers[role])
    if "id" not in (case.path_parameters or {}):
        for role in ROLES:
            case.call_and_validate(headers=headers[role])
        return
    case.call_and_validate(headers=headers[ROLES[0]])  # the generated id
    cache, kind = real_ids(request, case.operation.path)
    for role in ROLES:
        case.path_parameters["id"] = next(cache[kind + ":turn"])
        cache[kind + ":seen"].add(case.path_parameters["id"])
        case.call_and_validate(headers=headers[role])
    # Every real object meets the operation within its first example's rounds (6 roles per example).
    assert len(cache[kind + ":seen"]) >= min(len(cache[kind]), len(ROLES))
