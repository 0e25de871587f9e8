"""The schedule's reads: the sessions a signed-in user may list, a township's coming sessions for
the public page, and the per-session counts for the oversight dashboard."""

from datetime import date, timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import Institution

from .models import ClinicSession
from .permissions import sessions_visible_to
from .services import SESSION_PLACES

# How far ahead the public page of a township reads.
PUBLIC_WEEKS = 8


def sessions_for(user, *, institution_id=None, expert_id=None, date_from=None, date_to=None) -> QuerySet:
    """The sessions `user` sees (outreach.permissions.sessions_visible_to), filtered."""
    queryset = sessions_visible_to(user).select_related("expert", "institution")
    if institution_id is not None:
        queryset = queryset.filter(institution_id=institution_id)
    if expert_id is not None:
        queryset = queryset.filter(expert_id=expert_id)
    if date_from is not None:
        queryset = queryset.filter(date__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(date__lte=date_to)
    return queryset.order_by("date", "starts_at", "pk")


def public_centre(code: str) -> Institution | None:
    """The active township or central health centre with this code, or None."""
    return Institution.objects.filter(code=code, kind__in=SESSION_PLACES, is_active=True).first()


def coming_sessions(institution: Institution, *, today: date | None = None) -> QuerySet:
    """The centre's non-cancelled sessions from today for PUBLIC_WEEKS weeks, with their experts."""
    today = today or timezone.localdate()
    return (
        ClinicSession.objects.filter(
            institution=institution,
            cancelled_at__isnull=True,
            date__gte=today,
            date__lt=today + timedelta(weeks=PUBLIC_WEEKS),
        )
        .select_related("expert__institution")
        .order_by("date", "starts_at", "pk")
    )


def sessions_held(*, start: date, end: date, institution_ids=None) -> QuerySet:
    """The sessions held from `start` to `end` (inclusive, not after today, not cancelled) at the
    institutions `institution_ids` (None: all; the dashboards' scope), each with `patients` and
    `prescriptions` counted from the consults linked to it. One query."""
    end = min(end, timezone.localdate())
    queryset = ClinicSession.objects.filter(cancelled_at__isnull=True, date__gte=start, date__lte=end)
    if institution_ids is not None:
        queryset = queryset.filter(institution_id__in=institution_ids)
    return (
        queryset.select_related("expert", "institution")
        .annotate(
            prescriptions=Count("consults", distinct=True),
            patients=Count("consults__prescription__patient", distinct=True),
        )
        .order_by("date", "starts_at", "pk")
    )
