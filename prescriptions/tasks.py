from celery import shared_task
from django.conf import settings

from .services.herb_use import herb_use_refresh
from .services.integrity import anchor_trace
from .services.trace import flag_stuck


@shared_task(name="prescriptions.flag_stuck", ignore_result=True)
def flag_stuck_prescriptions():
    """Beat: flag prescriptions stuck past their stage's time limit for administrators."""
    flag_stuck(limits=settings.STAGE_TIME_LIMITS)


@shared_task(name="prescriptions.count_herb_use", ignore_result=True, soft_time_limit=100, time_limit=120)
def count_herb_use():
    """Beat: recount how often the county prescribes each herb (the suggestions' ranking)."""
    herb_use_refresh()


@shared_task(name="prescriptions.anchor_trace", ignore_result=True)
def anchor_trace_daily():
    """Beat, daily: append a keyed anchor of every chain's head outside the database. Repeating
    it only appends another anchor of the same heads."""
    anchor_trace()
