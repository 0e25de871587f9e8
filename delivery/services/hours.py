"""A delivery station's working hours and the time a failed stop is tried again inside them."""

from datetime import datetime, timedelta

from django.utils import timezone

from ..models import DeliveryHours

RETRY_AFTER = timedelta(hours=4)


def hours_of(station_id: int) -> DeliveryHours:
    """The station's hours; the defaults (08:00–18:00) when none are set."""
    return DeliveryHours.objects.filter(station_id=station_id).first() or DeliveryHours(station_id=station_id)


def within_hours(hours: DeliveryHours, at: datetime) -> datetime:
    """`at` when it falls inside the hours (local time), else the next opening after it."""
    local = timezone.localtime(at)
    opening = local.replace(hour=hours.opens_at.hour, minute=hours.opens_at.minute, second=0, microsecond=0)
    if local.time() < hours.opens_at:
        return opening
    if local.time() >= hours.closes_at:
        # The next day's opening, built from the calendar date so a DST change (none in
        # Asia/Shanghai, but the zone is a setting) cannot shift it.
        tomorrow = local.date() + timedelta(days=1)
        naive = datetime.combine(tomorrow, hours.opens_at)
        return timezone.make_aware(naive, local.tzinfo)
    return local


def retry_time(station_id: int, *, failed_at: datetime, requested: datetime | None = None) -> datetime:
    """When a stop that failed at `failed_at` is tried again: the time asked for, or four hours
    later, moved to the station's next working time when it falls outside its hours."""
    return within_hours(hours_of(station_id), requested or failed_at + RETRY_AFTER)
