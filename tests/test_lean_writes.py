"""How many statements the writes send (issue 23): a submit of 12 herbs and each station step
through the API with token authentication (dispensing 12 herbs too), each within its budget; the submit reads the
catalogue once and the patient's other prescriptions once, however many there are; the
cross-prescription check reads only the lines its rules can use, and follows a newly published
rule version; the status writer's compare-and-set, without a savepoint, leaves a caller's
transaction usable when refused and keeps the chain's order when the clock goes back."""

import json
import random
import types
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import Decision
from audit.services import audit_decide, audit_run
from catalogue.models import Herb, IncompatibilityRule
from core.api import CheaplyCopiedSerializer
from prescriptions.api.prescription_serializers import PrescriptionInSerializer
from prescriptions.exceptions import ConcurrentTransition
from prescriptions.models import Milestone, Prescription, TraceEvent
from prescriptions.services import prescription_transition
from prescriptions.services.integrity import verify_trace
from prescriptions.workflow import Stage
from rules import engine
from rules.cross import relevant_names
from rules.drafts import parse_draft
from rules.services import live_snapshot, rule_version_create, rule_version_publish

from .factories import PatientFactory
from .test_api_day import app, events, post, stock
from .test_stations_api import noise_jpeg

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

HERBS = ["黄芪", "党参", "白术", "茯苓", "炙甘草", "当归", "川芎", "白芍", "熟地黄", "陈皮", "法半夏", "柴胡"]
# Round trips per request, read with the token already used this minute and the rules loaded.
# PostgreSQL sends the trace event, the chain head and the milestone (and a new prescription's
# herb rows) as one string; SQLite one statement at a time.
BUDGET = {
    "postgresql": {
        "submit": 11,
        Stage.DISPENSED: 17,
        Stage.RECHECKED: 9,
        Stage.SOAKING: 8,
        Stage.DECOCTING: 10,
        Stage.PACKAGED: 10,
        Stage.SHIPPED: 9,
        Stage.DELIVERED: 9,
    },
    "sqlite": {
        "submit": 14,
        Stage.DISPENSED: 19,
        Stage.RECHECKED: 11,
        Stage.SOAKING: 10,
        Stage.DECOCTING: 12,
        Stage.PACKAGED: 12,
        Stage.SHIPPED: 12,
        Stage.DELIVERED: 12,
    },
}


def budget(what) -> int:
    return BUDGET[connection.vendor][what]


def submit_body(patient, herbs=HERBS) -> dict:
    return {
        "patient": patient.pk,
        "consult": {"tcm_disease": "虚劳"},
        "doses": 3,
        "delivery": "address",
        "delivery_address": "白塔乡白塔村3组12号",
        "usage": "每日1剂，水煎分2次温服",
        "items": [{"herb": name, "grams": 9} for name in herbs],
    }


def submitted(his, patient, herbs=HERBS) -> tuple[int, list[str]]:
    """The new prescription's id and the SQL of its submit."""
    with CaptureQueriesContext(connection) as sent:
        pk = post(his, "/api/v1/prescriptions/", submit_body(patient, herbs), status=201)["id"]
    return pk, [query["sql"] for query in sent.captured_queries]


@pytest.fixture
def his(clinician, catalogue):
    """The clinician's HIS, its token used once and the live rules loaded, as after the first call."""
    client = app(clinician, "HIS")
    post(client, "/api/v1/prescriptions/", submit_body(PatientFactory(institution=clinician.institution)), 201)
    return client


def test_a_submit_of_twelve_herbs_reads_the_catalogue_once_within_its_statement_budget(
    his, clinician, django_assert_max_num_queries
):
    patient = PatientFactory(institution=clinician.institution)
    with django_assert_max_num_queries(budget("submit")):
        _pk, sent = submitted(his, patient)

    catalogue_reads = [sql for sql in sent if "catalogue_" in sql and "prescriptions_patient" not in sql]
    assert len(catalogue_reads) == 1, "one read of the catalogue rows (the patient's allergies come with the patient)"


def test_a_submit_reads_the_other_prescriptions_once_however_many_the_patient_has(his, clinician):
    patient = PatientFactory(institution=clinician.institution)
    counts = []
    for _ in range(4):
        _pk, sent = submitted(his, patient)
        counts.append(len(sent))

    assert len(set(counts)) == 1, counts  # 0, 1, 2 and 3 other active prescriptions


@pytest.fixture
def stocked(county, catalogue, dispenser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stock(county, catalogue, dispenser, HERBS)


def counted(client, pk, body, status=201, most=None) -> list[str]:
    """The SQL of one step; with `most`, failing when there are more statements."""
    with CaptureQueriesContext(connection) as sent:
        post(client, events(pk), body, status=status)
    statements = [query["sql"] for query in sent.captured_queries]
    assert most is None or len(statements) <= most, f"{body['stage']}:\n" + "\n".join(statements)
    return statements


def test_each_station_step_stays_within_its_statement_budget(
    his, clinician, pharmacist, dispenser, decoctor, courier, stocked
):
    pk, _sent = submitted(his, PatientFactory(institution=clinician.institution))
    audit_run(prescription_id=pk)
    audit_decide(pharmacist=pharmacist, prescription=Prescription.objects.get(pk=pk), decision=Decision.APPROVE)
    tablet, pharmacy, decoction, phone = app(dispenser), app(pharmacist), app(decoctor), app(courier)
    weights = json.dumps([{"grams": "27"} for _ in HERBS])
    photo = SimpleUploadedFile("herbs.jpg", noise_jpeg(), content_type="image/jpeg")
    tablet.get("/api/v1/stations/")  # the token's first use (its use is recorded once a minute)
    with CaptureQueriesContext(connection) as dispensing:  # 12 herbs' stock: one read, one update, one insert
        response = tablet.post(events(pk), {"stage": Stage.DISPENSED, "weights": weights, "photo": photo})
    assert response.status_code == 201, response.content
    assert len(dispensing.captured_queries) <= budget(Stage.DISPENSED), dispensing.captured_queries
    for client in (pharmacy, decoction, phone):
        client.get("/api/v1/stations/")  # each token's first use (its use is recorded once a minute)
    steps = [
        (pharmacy, {"stage": Stage.RECHECKED}),
        (decoction, {"stage": Stage.SOAKING, "tank": "T-01"}),
        (decoction, {"stage": Stage.DECOCTING, "machine": "M-02", "ack_reason": "急煎"}),
        (decoction, {"stage": Stage.PACKAGED, "bags": 6, "ml_per_bag": 200, "ack_reason": "急煎"}),
    ]
    for client, body in steps:
        counted(client, pk, body, most=budget(body["stage"]))
    post(phone, "/api/v1/delivery/runs/", {"prescriptions": [pk], "area": "白塔乡"}, status=201)
    counted(phone, pk, {"stage": Stage.SHIPPED}, most=budget(Stage.SHIPPED))
    counted(phone, pk, {"stage": Stage.DELIVERED, "receiver_name": "本人"}, most=budget(Stage.DELIVERED))

    assert Prescription.objects.get(pk=pk).status == Stage.DELIVERED
    assert verify_trace()[0] == []
    milestone = Milestone.objects.get(prescription_id=pk)
    assert milestone.delivered_by_id == courier.pk and milestone.soaking_by_id == decoctor.pk


def test_a_repeated_station_step_reads_and_writes_nothing_new(his, clinician, decoctor):
    pk, _sent = submitted(his, PatientFactory(institution=clinician.institution))
    Prescription.objects.filter(pk=pk).update(status=Stage.RECHECKED)
    tablet = app(decoctor)
    first = post(tablet, events(pk), {"stage": Stage.SOAKING, "tank": "T-01"}, status=201)

    sent = counted(tablet, pk, {"stage": Stage.SOAKING, "tank": "T-01"}, status=200)

    assert not [sql for sql in sent if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))], sent
    assert TraceEvent.objects.filter(prescription_id=pk, stage=Stage.SOAKING).count() == 1
    assert post(tablet, events(pk), {"stage": Stage.SOAKING, "tank": "T-01"})["id"] == first["id"]


# --- the cross-prescription check: only the lines its rules can use ------------------------------


def _draft(names, rng) -> dict:
    return {
        "patient": {"sex": "F", "age_years": "40", "pregnant": False, "allergies": []},
        "doses": 7,
        "items": [{"herb": name, "grams": str(rng.choice([3, 6, 9, 15, 30]))} for name in names],
    }


def test_the_lines_left_unread_by_the_cross_check_never_change_its_findings(catalogue):
    """Random drafts against random other prescriptions (names as catalogue, alias or bare names):
    the findings from every line of the others equal those from the relevant lines alone."""
    rules, rng = live_snapshot(), random.Random(23)
    names = sorted([*rules.herbs, *rules.aliases, *rules.bare_names])
    risky = sorted({name for pair in rules.incompatibilities for name in pair.group_a | pair.group_b})
    for _ in range(300):
        draft = _draft(rng.sample(risky, 2) + rng.sample(names, 3), rng)
        others = [
            {"number": f"T001-0-{n}", "doses": 7, **_draft(rng.sample(risky, 2) + rng.sample(names, 4), rng)}
            for n in range(3)
        ]
        wanted = relevant_names(rules, [item["herb"] for item in draft["items"]])
        kept = [
            {**other, "items": items}
            for other in others
            if (items := [item for item in other["items"] if item["herb"] in wanted])
        ]
        everything = engine.audit(*parse_draft({**draft, "others": others}), rules)
        relevant = engine.audit(*parse_draft({**draft, "others": kept}) if kept else parse_draft(draft), rules)

        assert [f.as_dict() for f in everything] == [f.as_dict() for f in relevant]


def test_the_cross_check_reads_what_a_newly_published_rule_version_needs(catalogue, county_admin):
    before = relevant_names(live_snapshot(), ["党参"])
    assert "白术" not in before
    rule = IncompatibilityRule.objects.create(kind="nineteen")
    rule.group_a.add(Herb.objects.get(name="党参"))
    rule.group_b.add(Herb.objects.get(name="白术"))
    rule_version_publish(version=rule_version_create(actor=county_admin, note="test"), actor=county_admin)

    after = relevant_names(live_snapshot(), ["党参"])

    assert {"白术", "生白术", "於术"} <= after, "the herb under every name that is dispensed as it"
    assert before <= after


# --- the status writer ---------------------------------------------------------------------------


@pytest.fixture
def at_soaking(his, clinician):
    pk, _sent = submitted(his, PatientFactory(institution=clinician.institution), herbs=["党参", "白术"])
    Prescription.objects.filter(pk=pk).update(status=Stage.RECHECKED)
    return Prescription.objects.get(pk=pk)


def test_a_refused_move_leaves_the_callers_transaction_usable_and_writes_nothing(at_soaking, decoctor):
    stale = Prescription.objects.get(pk=at_soaking.pk)
    Prescription.objects.filter(pk=at_soaking.pk).update(status=Stage.SOAKING)
    events_before = TraceEvent.objects.filter(prescription=at_soaking).count()

    with transaction.atomic():
        with pytest.raises(ConcurrentTransition):
            prescription_transition(prescription=stale, to=Stage.SOAKING, actor=decoctor, data={})
        assert Prescription.objects.get(pk=at_soaking.pk).status == Stage.SOAKING  # still usable

    assert TraceEvent.objects.filter(prescription=at_soaking).count() == events_before


def test_a_move_made_while_the_clock_reads_earlier_still_follows_the_last_event(at_soaking, decoctor, monkeypatch):
    last = TraceEvent.objects.filter(prescription=at_soaking).order_by("-seq").first()
    earlier = last.at - timedelta(seconds=30)
    clock = types.SimpleNamespace(now=lambda: earlier, timedelta=timedelta)
    monkeypatch.setattr("prescriptions.services.trace.timezone", clock)

    event = prescription_transition(prescription=at_soaking, to=Stage.SOAKING, actor=decoctor, data={})

    assert event.at == last.at + timedelta(microseconds=1) and event.seq == last.seq + 1
    assert verify_trace()[0] == []


def test_the_submit_serializer_gives_each_instance_fields_of_its_own():
    first, second = PrescriptionInSerializer(data={}), PrescriptionInSerializer(data={})

    assert isinstance(first, CheaplyCopiedSerializer)
    assert first.fields["consult"] is not second.fields["consult"]
    assert first.fields["consult"].parent is first and second.fields["consult"].parent is second
    assert first.fields["items"].child.parent is first.fields["items"]
    declared = PrescriptionInSerializer._declared_fields
    assert all(getattr(field, "parent", None) is None for field in declared.values()), "never bound"
