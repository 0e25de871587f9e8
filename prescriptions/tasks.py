from celery import shared_task
from django.conf import settings

from .services.trace import flag_stuck


@shared_task(name="prescriptions.flag_stuck", ignore_result=True)
def flag_stuck_prescriptions():
    """Beat: flag prescriptions stuck past their stage's time limit for administrators."""
    flag_stuck(limits=settings.STAGE_TIME_LIMITS)
