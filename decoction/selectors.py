from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution, InstitutionKind, InstitutionTree
from accounts.permissions import has_capability
from core.ids import parse_id
from prescriptions.models import Prescription, TraceEvent
from prescriptions.selectors import prescriptions_for_stations
from prescriptions.workflow import TRANSITIONS, Decoction, Stage

from .models import StationSettings


def station_capability(stages) -> str:
    """The capability every workflow move into `stages` accepts: the staff of the station. (A
    self-decocted prescription may also be packed at the dispensing bench, through the API.)"""
    moves = [move for moves in TRANSITIONS.values() for move in moves if move.to in stages]
    (capability,) = frozenset.intersection(*(move.capabilities for move in moves))
    return capability


@dataclass(frozen=True)
class Station:
    code: str
    label: str
    waiting: Q  # which prescriptions wait here
    stages: tuple  # the steps recorded here

    @property
    def capability(self) -> str:
        """Who opens the station: derived from the workflow moves of its stages."""
        return station_capability(self.stages)


STATIONS = {
    s.code: s
    for s in (
        Station(
            "dispensing",
            _("Dispensing"),
            Q(status__in=[Stage.APPROVED, Stage.RECHECK_FAILED]),
            (Stage.DISPENSED,),
        ),
        Station("recheck", _("Re-check"), Q(status=Stage.DISPENSED), (Stage.RECHECKED, Stage.RECHECK_FAILED)),
        Station("soaking", _("Soaking"), Q(status=Stage.RECHECKED, decoction=Decoction.CENTER), (Stage.SOAKING,)),
        Station("decocting", _("Decoction"), Q(status=Stage.SOAKING), (Stage.DECOCTING,)),
        Station(
            "packaging",
            _("Packaging"),
            Q(status=Stage.DECOCTING) | Q(status=Stage.RECHECKED, decoction=Decoction.SELF),
            (Stage.PACKAGED,),
        ),
    )
}


def pharmacy_for(prescription: Prescription, tree: InstitutionTree | None = None) -> Institution:
    """The shared pharmacy that serves the prescription's county (the first active one in its
    tree, by code), from `tree` (the institution tree already read) or one read of it."""
    tree = tree or Institution.objects.tree()
    county = tree.subtree_ids(tree.root_of(prescription.institution_id))
    pharmacies = [
        row for row in tree.rows.values() if row[0] in county and row[2] == InstitutionKind.SHARED_PHARMACY and row[3]
    ]
    if not pharmacies:
        raise ValidationError(_("No shared pharmacy is configured for this county."))
    return tree.institution(min(pharmacies, key=lambda row: row[4])[0])


def stations_for(user) -> list[Station]:
    return [station for station in STATIONS.values() if has_capability(user, station.capability)]


def station_queue(user, station: Station) -> QuerySet:
    """What waits at a station: urgent (急煎) first, then the longest waiting."""
    return (
        prescriptions_for_stations(user)
        .filter(station.waiting)
        .select_related("patient", "institution")
        .order_by("-urgent", "updated_at", "pk")
    )


def find_by_code(user, station: Station, code: str):
    """The prescription a scanned or typed code names (T001-20261130-0001 or …-v2), if it waits here."""
    code = code.strip().upper()
    number, _, version = code.partition("-V")
    queue = station_queue(user, station).filter(number=number)
    if parse_id(version):
        queue = queue.filter(version=parse_id(version))
    return queue.order_by("-version").first()


def _ready(soaked_at, minutes: int, now) -> dict:
    ready_at = soaked_at + timedelta(minutes=minutes)
    return {
        "since": soaked_at,
        "ready_at": ready_at,
        "minutes_left": max(0, -int((now - ready_at).total_seconds() // 60)),
        "ready": now >= ready_at,
    }


def soak_ready(prescription: Prescription) -> dict | None:
    """When the soaking of a prescription started and when it has soaked the SOP's minimum
    (StationSettings.soak_min_minutes); None when it has not started soaking."""
    soaked_at = (
        TraceEvent.objects.filter(prescription=prescription, stage=Stage.SOAKING)
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
    )
    if soaked_at is None:
        return None
    return _ready(soaked_at, StationSettings.current().soak_min_minutes, timezone.now())


def with_soak_ready(queue: QuerySet, *, limit: int) -> list:
    """The first `limit` of the queue, each soaking one with `soak` (as soak_ready), in one query."""
    latest = TraceEvent.objects.filter(prescription=OuterRef("pk"), stage=Stage.SOAKING).order_by("-at", "-pk")
    rows = list(queue.annotate(soaked_at=Subquery(latest.values("at")[:1]))[:limit])
    minutes, now = None, timezone.now()
    for row in rows:
        row.soak = None
        if row.status == Stage.SOAKING and row.soaked_at:
            minutes = StationSettings.current().soak_min_minutes if minutes is None else minutes
            row.soak = _ready(row.soaked_at, minutes, now)
    return rows
