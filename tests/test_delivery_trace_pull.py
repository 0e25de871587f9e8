"""Delivery's side effects of a stage are pulled from the prescriptions' trace (the trace is the
outbox): each announced stage is written to the notification outbox once, however often and
however concurrently the trace is pulled; the send is enqueued and the cached tracking pages are
dropped only after the pull commits; an event that commits late is not stepped over; and delivery
registers nothing to run inside a transition."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from delivery.models import Notification, TraceCursor
from delivery.services import trace_pull, track_cache_keys
from delivery.tasks import pull_trace
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
    record_event(prescription=prescription, stage=Stage.SHIPPED, data={"expected_at": "2026-05-01T14:30:00+08:00"})

    trace_pull()

    shipped = Notification.objects.get(prescription=prescription, stage=Stage.SHIPPED)
    assert shipped.message == "您的中药已发出，预计14:30送达。"


def test_a_pull_drops_the_cached_tracking_page_of_each_prescription_that_moved_and_only_after_it_commits(
    clinician, decoctor, catalogue, django_capture_on_commit_callbacks
):
    moved, resting = prescription_at(clinician, Stage.DECOCTING), prescription_at(clinician, Stage.DECOCTING)
    trace_pull()  # the setup's events
    moved_keys, resting_keys = cache_page(moved), cache_page(resting)

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
    written, release, errors = threading.Event(), threading.Event(), []

    def approve_slowly():
        try:
            with transaction.atomic():
                prescription_transition(prescription=slow, to=Stage.APPROVED, actor=pharmacist)
                written.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    thread = threading.Thread(target=approve_slowly)
    thread.start()
    assert written.wait(timeout=30)
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


def test_the_pull_task_is_late_acknowledged_on_the_beat_every_10_seconds_and_ignores_its_hint(
    clinician, pharmacist, catalogue, settings
):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)
    prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)

    first = pull_trace.run(prescription_id=prescription.pk + 1000)
    second = pull_trace.run()

    assert (pull_trace.name, pull_trace.acks_late) == ("delivery.pull_trace", True)
    assert {"task": "delivery.pull_trace", "schedule": 10.0} in settings.CELERY_BEAT_SCHEDULE.values()
    assert first == TraceEvent.objects.filter(prescription=prescription).count() and second == 0
    assert announced(prescription) == [Stage.APPROVED]
