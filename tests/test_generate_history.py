"""manage.py generate_history: a county's history written in bulk that keeps every invariant of
the request path (the keyed trace verifies, statuses follow their events, the stage apps' rows
agree), with the pharmacy's stock and daily inspections beside it and the dashboards' rollups
rebuilt over it; the same seed gives the same history, and it can follow the demo's seed."""

import hashlib
import io
import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Institution, InstitutionKind, User
from accounts.roles import Role
from audit.models import AuditDecision, AuditRun, ReviewRound, ReviewSample, ReviewScore, Verdict
from catalogue.models import Herb, MovementKind, StockBatch, StockMovement
from dashboards.models import QualityDay, VolumeDay
from decoction.models import DispensingRecord, Inspection, InspectionResult
from delivery.models import DeliveryStop, Notification, NotificationStatus, PickupCode, StopStatus
from delivery.services.notifications import trace_pull
from prescriptions.models import Milestone, Prescription, PrescriptionItem, TraceEvent
from prescriptions.services.integrity import verify_trace
from prescriptions.workflow import Stage
from tcm_platform.management.history.plans import inject

from .test_demo import make_commands

pytestmark = pytest.mark.usefixtures("catalogue")
END = "2026-11-30"


def generate(count=300, seed=7, batch=500, end=END) -> str:
    out = io.StringIO()
    arguments = [
        "--prescriptions",
        str(count),
        "--seed",
        str(seed),
        "--end",
        end,
        "--years",
        "1",
        "--batch",
        str(batch),
    ]
    call_command("generate_history", *arguments, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def digest() -> str:
    """Numbers, items, statuses and event times of every prescription, independent of row ids
    (three queries: one per prescription and per item or event took most of the test's time)."""
    items, events = defaultdict(list), defaultdict(list)
    for i in PrescriptionItem.objects.select_related("herb").order_by("prescription", "position"):
        items[i.prescription_id].append(f"  {i.herb.name} {i.grams} {i.instruction}")
    for e in TraceEvent.objects.select_related("actor").order_by("prescription", "seq"):
        events[e.prescription_id].append(f"  {e.stage} {e.at.isoformat()} {e.actor.username if e.actor else '-'}")
    lines = []
    for p in Prescription.objects.order_by("number", "version"):
        lines.append(f"{p.number} v{p.version} {p.status} {p.urgent} {p.decoction} {p.delivery}")
        lines += items[p.pk] + events[p.pk]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class Undo(Exception):
    pass


def digest_of_a_fresh_run(seed, batch=500) -> str:
    """Generate in a transaction that is rolled back, as on a fresh database."""
    try:
        with transaction.atomic():
            generate(seed=seed, batch=batch)
            raise Undo(digest())
    except Undo as undo:
        return undo.args[0]


def test_a_small_run_builds_a_county_of_the_usual_shape_with_sixty_or_more_clinicians():
    output = generate()

    kinds = {kind: Institution.objects.filter(kind=kind).count() for kind in InstitutionKind.values}
    assert kinds[InstitutionKind.LEAD_HOSPITAL] == 1
    assert 3 <= kinds[InstitutionKind.CENTRAL_HEALTH_CENTRE] <= 6
    assert 15 <= kinds[InstitutionKind.TOWNSHIP_HEALTH_CENTRE] <= 30
    assert kinds[InstitutionKind.VILLAGE_CLINIC] >= kinds[InstitutionKind.TOWNSHIP_HEALTH_CENTRE]
    assert kinds[InstitutionKind.SHARED_PHARMACY] >= 1 and kinds[InstitutionKind.DELIVERY_STATION] >= 1
    assert User.objects.filter(groups__name=Role.CLINICIAN).count() >= 60
    assert "rows/s" in output


def test_a_small_run_reaches_every_ending_with_failed_deliveries_revisions_and_audit_findings():
    generate()

    statuses = set(Prescription.objects.values_list("status", flat=True))
    assert {Stage.REJECTED, Stage.DELIVERED, Stage.PICKED_UP} <= statuses
    assert DeliveryStop.objects.filter(status=StopStatus.FAILED).exists()
    assert Prescription.objects.filter(version=2, previous__status=Stage.REJECTED).exists()
    assert Prescription.objects.filter(urgent=True).exists()
    codes = {f["code"] for run in AuditRun.objects.all() for f in run.findings}
    assert {"dose.over_max", "incompatibility.eighteen"} <= codes
    assert PickupCode.objects.filter(prescription__status=Stage.PICKED_UP).count() == (
        Prescription.objects.filter(status=Stage.PICKED_UP).count()
    )


def test_the_generated_trace_verifies_and_every_status_is_its_last_events_stage_across_many_batches():
    generate(batch=40)  # revisions whose first version was written in an earlier batch

    problems, chains, events = verify_trace()
    assert problems == []
    assert chains == Prescription.objects.count() and events == TraceEvent.objects.count()
    for prescription in Prescription.objects.all():
        last = TraceEvent.objects.filter(prescription=prescription).order_by("-seq").first()
        assert prescription.status == last.stage == Milestone.objects.get(prescription=prescription).status
    for revision in Prescription.objects.filter(version=2).select_related("previous"):
        assert (revision.previous.number, revision.previous.status) == (revision.number, Stage.REJECTED)


def test_the_audit_runs_decisions_and_dispensing_records_agree_with_each_status_and_event():
    generate()

    for prescription in Prescription.objects.all():
        stages = set(TraceEvent.objects.filter(prescription=prescription).values_list("stage", flat=True))
        assert AuditRun.objects.filter(prescription=prescription).exists() == (Stage.AI_AUDITED in stages)
        decision = AuditDecision.objects.filter(prescription=prescription).first()
        if Stage.REJECTED in stages:
            assert decision.decision == "reject"
        elif Stage.APPROVED in stages:
            assert decision.decision == "approve"
        else:
            assert decision is None
    dispensings = TraceEvent.objects.filter(stage=Stage.DISPENSED)
    assert dispensings.count() == DispensingRecord.objects.count() > 0
    for event in dispensings:
        record = DispensingRecord.objects.get(pk=event.data["record"])
        assert (record.prescription_id, record.dispenser_id, record.weights) == (
            event.prescription_id,
            event.actor_id,
            event.data["weights"],
        )


def test_the_patients_were_told_at_the_time_so_delivery_announces_nothing_of_the_past_again():
    generate()
    told = Notification.objects.count()

    while trace_pull(limit=5000):
        pass

    assert told > 0 and Notification.objects.count() == told
    assert not Notification.objects.exclude(status=NotificationStatus.SENT).exists()


def test_every_ended_month_is_drawn_for_review_and_all_but_the_last_scored():
    """The history ends on 30 November: November has ended, whatever day after it runs."""
    with time_machine.travel(date(2026, 12, 6)):
        generate()

    months = list(ReviewRound.objects.order_by("month").values_list("month", flat=True))
    assert months[-1] == date(2026, 11, 1) and len(months) >= 11
    samples = ReviewSample.objects.all()
    assert samples.filter(round__month__lt=months[-1], score__isnull=True).count() == 0
    assert not samples.filter(round__month=months[-1], score__isnull=False).exists()
    verdicts = set(ReviewScore.objects.values_list("verdict", flat=True))
    assert Verdict.APPROPRIATE in verdicts and len(verdicts) > 1
    assert not ReviewScore.objects.filter(pharmacist=F("sample__prescriber")).exists()


def test_the_same_seed_gives_the_same_history_whatever_the_batch_size_and_another_seed_a_different_one():
    first, again, other = digest_of_a_fresh_run(7), digest_of_a_fresh_run(7, batch=70), digest_of_a_fresh_run(8)

    assert first == again
    assert first != other


def test_the_pharmacy_ends_with_stock_sized_by_recent_use_some_short_dated_and_every_batch_received():
    generate(count=600)

    end = date.fromisoformat(END)
    batches = StockBatch.objects.filter(batch_no__startswith="H")
    assert batches.count() > 20
    expiries = [(batch.expiry_date - end).days for batch in batches]
    assert all(days > 0 for days in expiries), "nothing already expired is left on the shelf"
    assert any(days <= 30 for days in expiries) and any(30 < days <= 90 for days in expiries)
    assert any(days > 90 for days in expiries)
    for batch in batches:
        movements = list(StockMovement.objects.filter(batch=batch).order_by("created_at"))
        assert movements[0].kind == MovementKind.RECEIVE and movements[0].created_at.date() < end
        assert movements[-1].balance_g == batch.quantity_g == sum(m.delta_g for m in movements)


def test_a_share_of_each_days_packaged_decoctions_is_inspected_by_a_pharmacist_and_a_few_fail():
    generate(count=600)

    inspections = Inspection.objects.select_related("prescription__milestone", "inspector")
    assert inspections.count() > 50
    for inspection in inspections:
        milestone = inspection.prescription.milestone
        assert inspection.prescription.decoction == "center" and milestone.packaged_at is not None
        assert inspection.picked_on == timezone.localtime(milestone.packaged_at).date()
        if inspection.result:
            assert inspection.inspector.groups.filter(name=Role.PHARMACIST).exists()
            assert inspection.inspected_at > milestone.packaged_at
            assert bool(inspection.notes) == (inspection.result == InspectionResult.FAILED)
    results = set(inspections.values_list("result", flat=True))
    assert {InspectionResult.PASSED, InspectionResult.FAILED} <= results
    failed = inspections.filter(result=InspectionResult.FAILED).count()
    assert failed < inspections.count() * 0.2


def test_the_dashboards_rollups_are_rebuilt_over_the_history_with_re_check_failures_by_dispenser():
    output = generate(count=600)

    assert "rollups rebuilt" in output
    assert VolumeDay.objects.exists()
    failures = {
        dispenser: (sum(r.recheck_failed for r in rows), sum(r.dispensed for r in rows))
        for dispenser in User.objects.filter(username__startswith="gdi")
        for rows in [list(QualityDay.objects.filter(dispenser=dispenser))]
    }
    assert sum(failed for failed, _dispensed in failures.values()) > 0
    assert all(dispensed > 0 for _failed, dispensed in failures.values())


@pytest.mark.usefixtures("fresh_cache")
def test_a_history_after_the_demo_seed_joins_its_county_and_numbers_and_the_seed_still_changes_nothing():
    call_command("seed_demo", "--no-summary", stdout=io.StringIO())
    demo_numbers = set(Prescription.objects.values_list("number", flat=True))
    pharmacy = Institution.objects.get(kind=InstitutionKind.SHARED_PHARMACY)

    generate(count=200, end=str(timezone.localdate()))  # the demo's prescriptions are numbered today

    assert Institution.objects.filter(kind=InstitutionKind.SHARED_PHARMACY).get() == pharmacy
    assert DispensingRecord.objects.exclude(pharmacy=pharmacy).count() == 0
    numbers = list(Prescription.objects.filter(version=1).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) and demo_numbers <= set(numbers)
    assert verify_trace()[0] == []
    users, prescriptions = User.objects.count(), Prescription.objects.count()
    call_command("seed_demo", "--no-summary", stdout=io.StringIO())
    assert (User.objects.count(), Prescription.objects.count()) == (users, prescriptions)


def test_make_demo_history_seeds_the_demo_then_writes_two_years_of_twenty_thousand_prescriptions():
    commands = make_commands("demo-history", "TCM_VAR_DIR=/tmp/demo-var")

    steps = [commands.index(step) for step in ("migrate", "seed_demo --no-summary", "generate_history")]
    assert steps == sorted(steps)
    assert "generate_history --prescriptions 20000 --years 2" in commands


def test_an_over_maximum_dose_of_a_herb_dosed_in_fractions_of_a_gram_is_over_its_maximum_not_zero(catalogue):
    class FirstChoice(random.Random):
        def random(self):
            return 0.0  # the over-maximum problem

        def choice(self, seq):
            return seq[0]

    toad = Herb.objects.get(name="蟾酥")  # 0.015–0.03 g

    rows, _pregnancy = inject(FirstChoice(), [(toad, Decimal("0.02"), "")], {}, None)

    assert rows[0][1] == Decimal("0.05") > toad.dose_max_g
