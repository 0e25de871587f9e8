"""The task through which each app pulls its side effects of a move from the trace, sent by the
status writer (prescriptions.services.trace) after every move commits. Thin and idempotent: each
owner's service finds in the database what is left to do, so a repeat finds nothing, and the
owners' periodic sweeps catch up on a lost message."""

from celery import shared_task

from audit.services import audit_run
from delivery.services import trace_pull
from prescriptions.workflow import Stage


@shared_task(name="pipeline.trace_advanced", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def trace_advanced(prescription_id: int, stage: str):
    if stage == Stage.SUBMITTED:
        audit_run(prescription_id=prescription_id)  # audit: a new prescription is machine-audited
    trace_pull()  # delivery: the patient's notification, the tracking page's cache
