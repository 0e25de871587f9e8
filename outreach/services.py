"""The schedule's writes: save and cancel a session (the overlap rule under the expert's row lock),
and link the prescriptions written during sessions. Keyword-only; raise ValidationError with the
field at fault, PermissionDenied for someone who may not edit the centre's schedule."""

from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Institution, InstitutionKind
from accounts.permissions import has_capability
from prescriptions.models import Milestone

from .models import ClinicSession, SessionConsult
from .permissions import ensure_can_manage_sessions_at

# Where a visiting expert sits: the townships' and the central health centres.
SESSION_PLACES = frozenset({InstitutionKind.TOWNSHIP_HEALTH_CENTRE, InstitutionKind.CENTRAL_HEALTH_CENTRE})
# How far back each link run looks: a worker down for a day still catches the sessions up.
LINK_DAYS = 2


def _field_errors(*, session, expert, institution, day: date, starts_at: time, ends_at: time) -> dict:
    errors = {}
    if not has_capability(expert, "prescribe"):
        errors["expert"] = [_("The expert must be an active clinician.")]
    if institution.kind not in SESSION_PLACES or not institution.is_active:
        errors["institution"] = [_("Sessions are held at an active township or central health centre.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The session must end after it starts.")]
    moved = session is None or (day, starts_at, ends_at) != (session.date, session.starts_at, session.ends_at)
    if moved and day < timezone.localdate():
        errors["date"] = [_("The date is in the past.")]
    if session is not None and session.cancelled_at is not None:
        errors["non_field_errors"] = [_("This session was cancelled.")]
    elif session is not None and session.consults.exists():
        kept = (session.expert_id, session.institution_id, session.date, session.starts_at, session.ends_at)
        if kept != (expert.pk, institution.pk, day, starts_at, ends_at):
            errors["non_field_errors"] = [_("Consults were recorded in this session: only its note can change.")]
    return errors


def _ensure_free(*, session, expert, day: date, starts_at: time, ends_at: time) -> None:
    """Raise ValidationError at `starts_at`, naming the other session, if the expert has a
    non-cancelled session on `day` whose times overlap these (touching ends do not overlap)."""
    other = (
        ClinicSession.objects.filter(
            expert=expert, date=day, cancelled_at__isnull=True, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .exclude(pk=getattr(session, "pk", None))
        .select_related("institution")
        .first()
    )
    if other is not None:
        message = _("%(expert)s already sits at %(place)s on %(date)s from %(start)s to %(end)s.") % {
            "expert": expert,
            "place": other.institution.name,
            "date": f"{other.date:%Y-%m-%d}",
            "start": f"{other.starts_at:%H:%M}",
            "end": f"{other.ends_at:%H:%M}",
        }
        raise ValidationError({"starts_at": [message]})


def session_save(
    *, actor, expert, institution, date: date, starts_at: time, ends_at: time, note: str = "", session=None
) -> ClinicSession:
    """Create a session (session=None) or change one. The actor must manage the schedule of the
    centre (and, for a change, of the centre it was at). One expert never sits in two places at
    once: the check runs under a lock on the expert's user row, so two administrators saving at
    the same moment are served one after the other and the second is refused. Nothing is saved
    when anything is refused."""
    ensure_can_manage_sessions_at(actor, institution.pk)
    if session is not None:
        ensure_can_manage_sessions_at(actor, session.institution_id)
    fields = {"expert": expert, "institution": institution, "day": date, "starts_at": starts_at, "ends_at": ends_at}
    errors = _field_errors(session=session, **fields)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=expert.pk).first()
        _ensure_free(session=session, expert=expert, day=date, starts_at=starts_at, ends_at=ends_at)
        if session is None:
            session = ClinicSession(created_by=actor)
        session.expert, session.institution, session.date = expert, institution, date
        session.starts_at, session.ends_at, session.note = starts_at, ends_at, note
        session.save()
    return session


def session_cancel(*, actor, session: ClinicSession) -> ClinicSession:
    """Cancel a session: it stays on record (with its consults) and no longer blocks the expert's
    time. Cancelling twice keeps the first cancellation."""
    ensure_can_manage_sessions_at(actor, session.institution_id)
    if session.cancelled_at is None:
        now = timezone.now()
        ClinicSession.objects.filter(pk=session.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=actor
        )
        session.refresh_from_db()
    return session


def session_window(session: ClinicSession) -> tuple[datetime, datetime]:
    """The session's start and end as aware datetimes in the installation's time zone."""
    start = timezone.make_aware(datetime.combine(session.date, session.starts_at))
    end = timezone.make_aware(datetime.combine(session.date, session.ends_at))
    return start, end


def consults_link(*, today: date | None = None, days: int = LINK_DAYS) -> int:
    """Link to each non-cancelled session of the last `days` days (today included) the
    prescriptions its expert submitted between its start and end (inclusive) at its centre: the
    prescription's institution is the centre, or its patient is registered at the centre or
    below it. A prescription is
    linked once (SessionConsult.prescription is unique), so a second run adds nothing. Returns
    how many links it made."""
    today = today or timezone.localdate()
    sessions = ClinicSession.objects.filter(
        cancelled_at__isnull=True, date__gte=today - timedelta(days=days), date__lte=today
    )
    made, tree = 0, Institution.objects.tree()
    for session in sessions:
        start, end = session_window(session)
        # A visiting expert's prescription carries the institution of the expert's account (the
        # county hospital); the patient is registered at the centre or a village clinic below it.
        here = tree.subtree_ids(session.institution_id)
        found = (
            Milestone.objects.filter(
                Q(institution_id=session.institution_id) | Q(prescription__patient__institution_id__in=here),
                prescriber_id=session.expert_id,
                submitted_at__gte=start,
                submitted_at__lte=end,
            )
            .exclude(prescription_id__in=SessionConsult.objects.values("prescription_id"))
            .values_list("prescription_id", flat=True)
        )
        rows = [SessionConsult(session=session, prescription_id=pk) for pk in found]
        made += len(SessionConsult.objects.bulk_create(rows, ignore_conflicts=True))
    return made
