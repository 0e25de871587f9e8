"""Delivery's side effects of a stage are pulled from the prescriptions' trace (the trace is the
outbox): each announced stage is written to the notification outbox once, however often and
however concurrently the trace is pulled; the send is enqueued and the cached tracking pages are
dropped only after the pull commits; an event that commits late is not stepped over, however
long before its commit it was written; an event stepped over all the same is announced by the
sweep; and delivery registers nothing to run inside a transition."""

import threading
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from delivery.models import Notification, TraceCursor
from delivery.services import trace_pull, track_cache_keys
from delivery.services.notifications import IN_FLIGHT_GRACE, RECONCILE_WINDOW
from delivery.tasks import pull_trace, sweep_notifications
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import prescription_transition, record_event
from prescriptions.workflow import Stage

from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")


def announced(prescription) -> list[str]:
    return sorted(Notification.objects.filter(prescription=prescription).values_list("stage", flat=True))


def cache_page(prescription) -> list[str]:
    keys = track_cache_keys(prescription.tracking_token)
    cache.set_many(dict.fromkeys(keys, "cached page"), 300)
    return keys


@contextmanager
def clock_at(moment):
    """Every caller of django.utils.timezone.now sees `moment` inside the block."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def cursor_at_last_event() -> int:
    """The cursor has handled every event so far (as the migration that created it starts it)."""
    last = TraceEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    TraceCursor.objects.update_or_create(name="delivery", defaults={"last_event_id": last, "handled_above": []})
    return last


def burn_an_event_id() -> None:
    """What a rolled-back transition leaves in the trace: an id no event will ever have."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [TraceEvent._meta.db_table])
        else:  # Django's SQLite ids are AUTOINCREMENT: the next id follows sqlite_sequence
            cursor.execute("UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = %s", [TraceEvent._meta.db_table])


def approve_in_an_open_transaction(prescription, pharmacist):
    """Starts a thread that approves `prescription` and keeps its transaction open until the
    returned `release` is set; returns (thread, release, errors) once the event is written."""
    written, release, errors = threading.Event(), threading.Event(), []

    def approve_slowly():
        try:
            with transaction.atomic():
                prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
                written.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - collected and reported by the test
            errors.append(repr(exc))
        finally:
            connection.close()

    thread = threading.Thread(target=approve_slowly)
    thread.start()
    assert written.wait(timeout=30)
    return thread, release, errors


def test_nothing_of_delivery_is_written_inside_a_transition_and_the_pull_announces_it(clinician, pharmacist, catalogue):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)

    prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)

    assert announced(prescription) == [], "nothing is written inside the transition"
    trace_pull()
    assert announced(prescription) == [Stage.APPROVED]


def test_each_notify_stage_is_announced_once_even_when_the_trace_is_pulled_twice_or_revisited(
    clinician, pharmacist, decoctor, catalogue, enqueued, django_capture_on_commit_callbacks
):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)
    prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
    record_event(prescription=prescription, stage=Stage.DECOCTING)
    record_event(prescription=prescription, stage=Stage.DECOCTING)  # the stage entered again

    with django_capture_on_commit_callbacks(execute=True):
        first = trace_pull()
    with django_capture_on_commit_callbacks(execute=True):
        second = trace_pull()

    assert (first, second) == (TraceEvent.objects.filter(prescription=prescription).count(), 0)
    assert announced(prescription) == [Stage.APPROVED, Stage.DECOCTING]
    assert sorted(enqueued["notification"]) == sorted(Notification.objects.values_list("pk", flat=True))


def test_a_shipped_event_announces_the_expected_time_it_carries(clinician, catalogue):
    prescription = prescription_at(clinician, Stage.PACKAGED)
    today = timezone.localdate()
    record_event(prescription=prescription, stage=Stage.SHIPPED, data={"expected_at": f"{today}T14:30:00+08:00"})

    trace_pull()

    shipped = Notification.objects.get(prescription=prescription, stage=Stage.SHIPPED)
    assert shipped.message == "您的中药已发出，预计今天14:30送达。"


def test_a_pull_drops_the_cached_tracking_page_of_each_prescription_that_moved_and_only_after_it_commits(
    clinician, decoctor, catalogue, django_capture_on_commit_callbacks
):
    moved, resting = prescription_at(clinician, Stage.DECOCTING), prescription_at(clinician, Stage.DECOCTING)
    trace_pull()  # the setup's events
    moved_keys, resting_keys = cache_page(moved), cache_page(resting)
    assert moved_keys and resting_keys, "the checks below must not pass over empty key lists"

    prescription_transition(prescription=moved, to=Stage.PACKAGED, actor=decoctor)
    assert all(cache.get(key) for key in moved_keys), "the transition itself drops nothing"
    with django_capture_on_commit_callbacks() as callbacks:
        trace_pull()
    assert all(cache.get(key) for key in moved_keys), "nothing is dropped before the pull commits"
    for callback in callbacks:
        callback()

    assert [cache.get(key) for key in moved_keys] == [None] * len(moved_keys)
    assert all(cache.get(key) == "cached page" for key in resting_keys)


def test_a_first_version_just_submitted_has_no_cached_page_to_drop(
    clinician, catalogue, django_capture_on_commit_callbacks
):
    prescription = prescription_at(clinician, Stage.SUBMITTED)
    keys = cache_page(prescription)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert trace_pull() == 1

    assert callbacks == []
    assert keys, "the check below must not pass over an empty key list"
    assert all(cache.get(key) == "cached page" for key in keys)


@pytest.mark.django_db(transaction=True)
def test_each_notify_stage_is_announced_once_when_four_pulls_run_concurrently(
    clinician, pharmacist, catalogue, enqueued
):
    prescriptions = [prescription_at(clinician, Stage.AI_AUDITED) for _ in range(6)]
    for prescription in prescriptions:
        prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
    events = TraceEvent.objects.count()
    barrier, handled, errors = threading.Barrier(4), [], []

    def pull():
        try:
            barrier.wait(timeout=30)
            while count := trace_pull(limit=3):  # small batches, so the pulls interleave
                handled.append(count)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=pull) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(handled) == events, "every event handled by exactly one pull"
    assert [announced(p) for p in prescriptions] == [[Stage.APPROVED]] * 6
    assert sorted(enqueued["notification"]) == sorted(Notification.objects.values_list("pk", flat=True))
    assert len(enqueued["notification"]) == 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer at a time: no id commits late")
def test_an_event_that_commits_after_a_later_event_was_pulled_is_still_announced(
    clinician, pharmacist, catalogue, enqueued
):
    slow, quick = prescription_at(clinician, Stage.AI_AUDITED), prescription_at(clinician, Stage.AI_AUDITED)
    trace_pull()  # the setup's events
    thread, release, errors = approve_in_an_open_transaction(slow, pharmacist)
    quick_event = prescription_transition(prescription=quick, to=Stage.APPROVED, actor=pharmacist)
    trace_pull()
    before = set(Notification.objects.values_list("prescription_id", flat=True))
    cursor = TraceCursor.objects.get()
    release.set()
    thread.join(timeout=30)
    trace_pull()

    assert errors == []
    assert before == {quick.pk}
    assert cursor.last_event_id < quick_event.pk and quick_event.pk in cursor.handled_above
    assert set(Notification.objects.values_list("prescription_id", flat=True)) == {slow.pk, quick.pk}
    assert Prescription.objects.get(pk=slow.pk).status == Stage.APPROVED


def test_the_pull_task_takes_no_arguments_and_is_late_acknowledged_on_the_beat_every_10_seconds(
    clinician, pharmacist, catalogue, settings
):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)
    prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)

    first = pull_trace.run()
    second = pull_trace.run()

    with pytest.raises(TypeError):
        pull_trace.run(prescription.pk)  # nothing sends a prescription id: a pull takes everything

    assert (pull_trace.name, pull_trace.acks_late) == ("delivery.pull_trace", True)
    assert {"task": "delivery.pull_trace", "schedule": 10.0} in settings.CELERY_BEAT_SCHEDULE.values()
    assert first == TraceEvent.objects.filter(prescription=prescription).count() and second == 0
    assert announced(prescription) == [Stage.APPROVED]


def test_a_gap_is_stepped_over_only_once_the_pulls_have_seen_it_open_for_the_grace_however_old_the_event_above(
    clinician, pharmacist, catalogue
):
    written_at = timezone.now() - timedelta(minutes=3)
    with clock_at(written_at):
        prescription = prescription_at(clinician, Stage.AI_AUDITED)
    before = cursor_at_last_event()
    burn_an_event_id()  # a transition rolled back, or one still open
    with clock_at(written_at + timedelta(seconds=1)):  # written 3 minutes ago, committed only now
        approved = prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
    first_seen = timezone.now()

    trace_pull()
    first = TraceCursor.objects.get()
    with clock_at(first_seen + IN_FLIGHT_GRACE - timedelta(seconds=5)):
        trace_pull()
    within_grace = TraceCursor.objects.get()
    with clock_at(first_seen + IN_FLIGHT_GRACE + timedelta(seconds=5)):
        trace_pull()
    after_grace = TraceCursor.objects.get()

    assert approved.pk == before + 2
    assert announced(prescription) == [Stage.APPROVED], "the event above the gap is handled at once"
    assert (first.last_event_id, first.handled_above) == (before, [approved.pk])
    assert (within_grace.last_event_id, within_grace.handled_above) == (before, [approved.pk])
    assert (after_grace.last_event_id, after_grace.handled_above, after_grace.gaps_seen) == (approved.pk, [], [])


def test_the_sweep_announces_a_stage_the_pull_stepped_over_once_and_leaves_the_rest_to_the_pull(
    clinician, pharmacist, catalogue, enqueued, django_capture_on_commit_callbacks
):
    with clock_at(timezone.now() - RECONCILE_WINDOW - timedelta(hours=1)):
        too_old = prescription_at(clinician, Stage.AI_AUDITED)
        prescription_transition(prescription=too_old, to=Stage.APPROVED, actor=pharmacist)
    stepped_over, waiting = prescription_at(clinician, Stage.AI_AUDITED), prescription_at(clinician, Stage.AI_AUDITED)
    prescription_transition(prescription=stepped_over, to=Stage.APPROVED, actor=pharmacist)
    cursor_at_last_event()  # as if the pull had stepped over these ids and they committed later
    prescription_transition(prescription=waiting, to=Stage.APPROVED, actor=pharmacist)

    with django_capture_on_commit_callbacks(execute=True):
        sweep_notifications()
    first = list(enqueued["notification"])
    with django_capture_on_commit_callbacks(execute=True):
        sweep_notifications()

    assert [announced(p) for p in (stepped_over, waiting, too_old)] == [[Stage.APPROVED], [], []]
    assert first == enqueued["notification"] == [Notification.objects.get(prescription=stepped_over).pk]
    trace_pull()
    assert [announced(p) for p in (stepped_over, waiting)] == [[Stage.APPROVED], [Stage.APPROVED]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer at a time: no id commits late")
def test_an_event_written_minutes_before_it_commits_does_not_make_the_pull_step_over_an_open_transaction(
    clinician, pharmacist, catalogue, enqueued
):
    written_at = timezone.now() - timedelta(minutes=3)
    with clock_at(written_at):
        slow, quick = prescription_at(clinician, Stage.AI_AUDITED), prescription_at(clinician, Stage.AI_AUDITED)
    trace_pull()  # the setup's events
    thread, release, errors = approve_in_an_open_transaction(slow, pharmacist)
    with clock_at(written_at + timedelta(seconds=1)):  # written 3 minutes ago, committed only now
        prescription_transition(prescription=quick, to=Stage.APPROVED, actor=pharmacist)
    trace_pull()
    before = set(Notification.objects.values_list("prescription_id", flat=True))
    release.set()
    thread.join(timeout=30)
    trace_pull()

    assert errors == []
    assert before == {quick.pk}
    assert set(Notification.objects.values_list("prescription_id", flat=True)) == {slow.pk, quick.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer at a time: no id commits late")
def test_an_event_that_commits_after_the_pull_stepped_over_it_is_announced_by_the_sweep(
    clinician, pharmacist, catalogue, enqueued
):
    slow, quick = prescription_at(clinician, Stage.AI_AUDITED), prescription_at(clinician, Stage.AI_AUDITED)
    cursor_at_last_event()
    thread, release, errors = approve_in_an_open_transaction(slow, pharmacist)
    quick_event = prescription_transition(prescription=quick, to=Stage.APPROVED, actor=pharmacist)
    trace_pull()  # sees the open transaction's id missing
    with clock_at(timezone.now() + IN_FLIGHT_GRACE + timedelta(seconds=5)):
        trace_pull()  # still missing after the grace: taken as rolled back
    stepped = TraceCursor.objects.get()
    release.set()
    thread.join(timeout=30)
    trace_pull()
    before = set(Notification.objects.values_list("prescription_id", flat=True))
    sweep_notifications()

    assert errors == []
    assert (stepped.last_event_id, stepped.handled_above) == (quick_event.pk, [])
    assert before == {quick.pk}, "the pull does not go back below its cursor"
    assert set(Notification.objects.values_list("prescription_id", flat=True)) == {slow.pk, quick.pk}
    assert Notification.objects.get(prescription=slow).pk in enqueued["notification"]
