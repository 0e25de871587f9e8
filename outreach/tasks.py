from celery import shared_task

from .services import consults_link


@shared_task(name="outreach.link_consults", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def link_consults():
    """Link the prescriptions written during the last days' sessions to them (run by the beat).
    Idempotent: a linked prescription is never linked again."""
    return consults_link()
