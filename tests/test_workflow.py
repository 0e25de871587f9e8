"""The whole workflow table through prescription_transition: every (from, to) pair of stages for
every decoction and delivery mode and every persona (and the system), checked against a table of
who may make each move written here from the pipeline's rules (EXPECTED_MOVES), the hash chain of
trace events, and the compare-and-set on the status."""

import itertools

import pytest

from accounts.roles import CAPABILITIES, Role
from prescriptions.exceptions import ConcurrentTransition, InvalidTransition
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import prescription_submit, prescription_transition
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.services.integrity import event_hash
from prescriptions.workflow import SYSTEM, TRANSITIONS, Decoction, DeliveryMode, Stage, find_move

from .factories import PatientFactory

S, R = Stage, Role
MODES = list(itertools.product(Decoction.values, DeliveryMode.values))
PAIRS = list(itertools.product(Stage.values, Stage.values))
# The path a centre-decocted, delivered prescription takes, with who makes each step.
CENTRE_PATH = [
    (Stage.AI_AUDITED, "system"),
    (Stage.APPROVED, "pharmacist"),
    (Stage.DISPENSED, "dispenser"),
    (Stage.RECHECKED, "pharmacist"),
    (Stage.SOAKING, "decoctor"),
    (Stage.DECOCTING, "decoctor"),
    (Stage.PACKAGED, "decoctor"),
    (Stage.SHIPPED, "courier"),
    (Stage.DELIVERED, "courier"),
]


# Who may make each move, written by hand from the pipeline's rules, not read from TRANSITIONS:
# 《处方管理办法》 and 《医疗机构处方审核规范》 (the prescriber writes and may withdraw a prescription
# until it is dispensed; a pharmacist audits it and re-checks what was dispensed, never the
# dispenser; the dispenser fills it and refills after a failed re-check), the 煎药室 SOP (the
# decoction operator soaks, decocts and packs; herbs the patient decocts are packed at the
# centre or at the dispensing bench) and the delivery SOP (the courier ships and delivers; the
# pharmacy's dispenser or the clinic's clinician hands over a pickup). The machine audit is
# background work (SYSTEM). One row: (from, to, decoction, delivery, roles); "*" is any mode.
# A (from, to, mode) not listed is refused to everyone.
ANY = "*"
EXPECTED_MOVES = [
    (S.SUBMITTED, S.AI_AUDITED, ANY, ANY, {SYSTEM}),
    (S.SUBMITTED, S.CANCELLED, ANY, ANY, {R.CLINICIAN}),
    (S.AI_AUDITED, S.APPROVED, ANY, ANY, {R.PHARMACIST}),
    (S.AI_AUDITED, S.REJECTED, ANY, ANY, {R.PHARMACIST}),
    (S.AI_AUDITED, S.CANCELLED, ANY, ANY, {R.CLINICIAN}),
    (S.APPROVED, S.DISPENSED, ANY, ANY, {R.DISPENSER}),
    (S.APPROVED, S.CANCELLED, ANY, ANY, {R.CLINICIAN}),
    (S.DISPENSED, S.RECHECKED, ANY, ANY, {R.PHARMACIST}),
    (S.DISPENSED, S.RECHECK_FAILED, ANY, ANY, {R.PHARMACIST}),
    (S.RECHECK_FAILED, S.DISPENSED, ANY, ANY, {R.DISPENSER}),
    (S.RECHECKED, S.SOAKING, Decoction.CENTER, ANY, {R.DECOCTION_OPERATOR}),
    (S.RECHECKED, S.PACKAGED, Decoction.SELF, ANY, {R.DECOCTION_OPERATOR, R.DISPENSER}),
    # A self-decocted prescription never reaches soaking or decocting (it cannot enter them), so
    # these two rows need no mode.
    (S.SOAKING, S.DECOCTING, ANY, ANY, {R.DECOCTION_OPERATOR}),
    (S.DECOCTING, S.PACKAGED, ANY, ANY, {R.DECOCTION_OPERATOR}),
    (S.PACKAGED, S.SHIPPED, ANY, DeliveryMode.ADDRESS, {R.COURIER}),
    (S.PACKAGED, S.PICKED_UP, ANY, DeliveryMode.PICKUP, {R.DISPENSER, R.CLINICIAN}),
    # Only a shipped prescription is delivered, and only an address prescription is shipped.
    (S.SHIPPED, S.DELIVERED, ANY, ANY, {R.COURIER}),
]


def roles_allowed(current: str, to: str, *, decoction: str, delivery: str) -> frozenset:
    """Read from EXPECTED_MOVES alone: who may move `current` → `to` for this mode (empty: nobody)."""
    roles = set()
    for a, b, row_decoction, row_delivery, row_roles in EXPECTED_MOVES:
        if (a, b) == (current, to) and row_decoction in (ANY, decoction) and row_delivery in (ANY, delivery):
            roles |= row_roles
    return frozenset(roles)


def submit(clinician, *, decoction=Decoction.CENTER, delivery=DeliveryMode.ADDRESS) -> Prescription:
    patient = PatientFactory(institution=clinician.institution)
    prescription, created = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": "感冒"},
                "items": [{"herb": "党参", "grams": "10"}, {"herb": "白术", "grams": "10"}],
                "doses": 7,
                "usage": "每日1剂，水煎分2次温服",
                "decoction": decoction,
                "delivery": delivery,
                "delivery_address": "白塔乡白塔村1号" if delivery == DeliveryMode.ADDRESS else "",
            }
        ),
    )
    assert created and prescription.status == Stage.SUBMITTED
    return prescription


def put_at(prescription: Prescription, stage: str) -> Prescription:
    """Test setup only: place the prescription at `stage` without going through the workflow."""
    Prescription.objects.filter(pk=prescription.pk).update(status=stage)
    prescription.status = stage
    return prescription


def last_event(prescription) -> TraceEvent | None:
    return TraceEvent.objects.filter(prescription=prescription).order_by("-at", "-pk").first()


@pytest.fixture
def one_per_mode(catalogue, clinician):
    return {
        (decoction, delivery): submit(clinician, decoction=decoction, delivery=delivery)
        for decoction, delivery in MODES
    }


def test_the_table_has_an_entry_for_every_stage_and_moves_only_to_stages():
    assert set(TRANSITIONS) == set(Stage.values)
    assert {move.to for moves in TRANSITIONS.values() for move in moves} <= set(Stage.values)


def test_the_workflow_table_gives_each_move_to_exactly_the_roles_the_pipelines_rules_name():
    """TRANSITIONS read through the role table, per mode, against EXPECTED_MOVES: one role more or
    less on one move fails here (and in the test below, through the transition service)."""
    wrong = {}
    for (current, to), (decoction, delivery) in itertools.product(PAIRS, MODES):
        move = find_move(current, to, decoction=decoction, delivery=delivery)
        got = set()
        if move is not None:
            got = {role for c in move.capabilities for role in CAPABILITIES.get(c, ())} | (move.capabilities & {SYSTEM})
        want = roles_allowed(current, to, decoction=decoction, delivery=delivery)
        if got != want:
            wrong[f"{current}->{to} {decoction}/{delivery}"] = {"table": sorted(got), "rules": sorted(want)}
    assert wrong == {}


@pytest.mark.parametrize("current", Stage.values)
def test_from_each_stage_a_move_succeeds_exactly_when_the_table_allows_it_for_the_mode_and_the_actor(
    current, one_per_mode, actors
):
    """Every target stage × every decoction/delivery mode × every persona and the system."""
    wrong = []
    last = {p.pk: last_event(p) for p in one_per_mode.values()}
    for to, ((decoction, delivery), prescription) in itertools.product(Stage.values, one_per_mode.items()):
        roles = roles_allowed(current, to, decoction=decoction, delivery=delivery)
        for name, actor in actors.items():
            case = f"{current}->{to} {decoction}/{delivery} by {name}"
            if prescription.status != current:
                put_at(prescription, current)
            before = last[prescription.pk]
            expected = SYSTEM in roles if actor is None else bool(roles & actor.role_codes)
            try:
                event = prescription_transition(prescription=prescription, to=to, actor=actor, data={"case": case})
            except InvalidTransition:
                event = None
            stored = Prescription.objects.values_list("status", flat=True).get(pk=prescription.pk)
            newest = last[prescription.pk] = last_event(prescription)
            if event is None:
                if expected:
                    wrong.append(f"{case}: refused, but the table allows it")
                if stored != current or newest != before:
                    wrong.append(f"{case}: refused, yet the status or the trace changed")
            elif not expected:
                wrong.append(f"{case}: allowed, but the table refuses it")
            else:
                if stored != to:
                    wrong.append(f"{case}: the stored status is {stored}, not {to}")
                if (event.stage, event.actor, event.data) != (to, actor, {"case": case}):
                    wrong.append(f"{case}: the event does not record the move")
                if newest != event or event.prev_hash != before.hash:
                    wrong.append(f"{case}: the event is not the next link of the chain")
    assert wrong == []


def test_the_table_is_exercised_with_allowed_and_refused_moves_for_every_mode():
    """Guards the oracle above: each mode has allowed moves, including the mode-specific ones."""
    for decoction, delivery in MODES:
        allowed = {(a, b) for a, b in PAIRS if roles_allowed(a, b, decoction=decoction, delivery=delivery)}
        assert (Stage.SUBMITTED, Stage.AI_AUDITED) in allowed
        assert ((Stage.RECHECKED, Stage.SOAKING) in allowed) == (decoction == Decoction.CENTER)
        assert ((Stage.RECHECKED, Stage.PACKAGED) in allowed) == (decoction == Decoction.SELF)
        assert ((Stage.PACKAGED, Stage.SHIPPED) in allowed) == (delivery == DeliveryMode.ADDRESS)
        assert ((Stage.PACKAGED, Stage.PICKED_UP) in allowed) == (delivery == DeliveryMode.PICKUP)
        assert not any(a in (Stage.REJECTED, Stage.CANCELLED, Stage.DELIVERED, Stage.PICKED_UP) for a, _ in allowed)


def test_every_move_records_an_event_chained_to_the_hash_of_the_previous_one(catalogue, clinician, actors):
    prescription = submit(clinician)
    for stage, who in CENTRE_PATH:
        previous = last_event(prescription)
        event = prescription_transition(prescription=prescription, to=stage, actor=actors[who])
        assert event.prev_hash == previous.hash

    events = list(TraceEvent.objects.filter(prescription=prescription).order_by("at", "pk"))
    assert [e.stage for e in events] == [Stage.SUBMITTED] + [stage for stage, _ in CENTRE_PATH]
    assert events[0].prev_hash == ""
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert len({e.hash for e in events}) == len(events)
    for e in events:
        assert e.hash == event_hash(
            key_id=e.key_id,
            prescription_id=prescription.pk,
            seq=e.seq,
            stage=e.stage,
            actor_id=e.actor_id,
            at=e.at,
            data=e.data,
            prev_hash=e.prev_hash,
        )
    assert Prescription.objects.get(pk=prescription.pk).status == Stage.DELIVERED


def test_a_move_from_a_stale_status_raises_concurrent_transition_and_writes_no_event(catalogue, clinician):
    prescription = submit(clinician)
    stale = Prescription.objects.get(pk=prescription.pk)
    prescription_transition(prescription=prescription, to=Stage.AI_AUDITED, actor=None)
    events = TraceEvent.objects.filter(prescription=prescription).count()

    with pytest.raises(ConcurrentTransition):
        prescription_transition(prescription=stale, to=Stage.CANCELLED, actor=clinician, data={"reason": "患者要求"})

    assert Prescription.objects.get(pk=prescription.pk).status == Stage.AI_AUDITED
    assert TraceEvent.objects.filter(prescription=prescription).count() == events
    assert not TraceEvent.objects.filter(prescription=prescription, stage=Stage.CANCELLED).exists()


def test_a_self_decocted_prescription_goes_from_rechecked_straight_to_packaged(
    catalogue, clinician, dispenser, decoctor
):
    for actor in (dispenser, decoctor):
        prescription = put_at(submit(clinician, decoction=Decoction.SELF), Stage.RECHECKED)

        prescription_transition(prescription=prescription, to=Stage.PACKAGED, actor=actor)

        assert Prescription.objects.get(pk=prescription.pk).status == Stage.PACKAGED


def test_a_self_decocted_prescription_is_never_soaked(catalogue, clinician, decoctor):
    prescription = put_at(submit(clinician, decoction=Decoction.SELF), Stage.RECHECKED)

    with pytest.raises(InvalidTransition):
        prescription_transition(prescription=prescription, to=Stage.SOAKING, actor=decoctor)

    assert Prescription.objects.get(pk=prescription.pk).status == Stage.RECHECKED


def test_a_centre_decocted_prescription_cannot_skip_soaking_and_decocting(catalogue, clinician, decoctor, dispenser):
    prescription = put_at(submit(clinician, decoction=Decoction.CENTER), Stage.RECHECKED)

    for actor in (decoctor, dispenser):
        with pytest.raises(InvalidTransition):
            prescription_transition(prescription=prescription, to=Stage.PACKAGED, actor=actor)

    assert Prescription.objects.get(pk=prescription.pk).status == Stage.RECHECKED


def test_the_system_cannot_make_a_step_that_needs_a_person(catalogue, clinician):
    prescription = put_at(submit(clinician), Stage.AI_AUDITED)

    with pytest.raises(InvalidTransition):
        prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=None)


def test_an_inactive_user_cannot_make_a_move_their_role_allows(catalogue, clinician, pharmacist):
    prescription = put_at(submit(clinician), Stage.AI_AUDITED)
    pharmacist.is_active = False
    pharmacist.save(update_fields=["is_active"])

    with pytest.raises(InvalidTransition):
        prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)

    assert Prescription.objects.get(pk=prescription.pk).status == Stage.AI_AUDITED


def test_changes_are_written_in_the_same_update_as_the_status(catalogue, clinician):
    prescription = submit(clinician)

    prescription_transition(prescription=prescription, to=Stage.AI_AUDITED, actor=None, changes={"risk_level": "low"})

    stored = Prescription.objects.get(pk=prescription.pk)
    assert (stored.status, stored.risk_level) == (Stage.AI_AUDITED, "low")
