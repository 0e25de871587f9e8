"""Thin, idempotent tasks over decoction.services."""

import random
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import StationPhoto
from .services import inspections_pick, thumbnail_make


@shared_task(name="decoction.make_thumbnail", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def make_thumbnail(photo_id: int):
    thumbnail_make(photo_id=photo_id)


@shared_task(name="decoction.sweep_thumbnails", ignore_result=True)
def sweep_thumbnails():
    """Photos whose thumbnail task was lost get another one."""
    cutoff = timezone.now() - timedelta(minutes=1)
    for pk in StationPhoto.objects.filter(thumbnail="", created_at__lt=cutoff).values_list("pk", flat=True)[:200]:
        make_thumbnail.delay(pk)


@shared_task(name="decoction.pick_inspections", ignore_result=True)
def pick_inspections():
    """Daily: pick the configured share of today's decoctions for a pharmacist's inspection."""
    inspections_pick(day=timezone.localdate(), rng=random.SystemRandom())
