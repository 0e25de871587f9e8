from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.permissions import has_capability
from prescriptions.selectors import prescriptions_for_stations
from prescriptions.workflow import Decoction, Stage


@dataclass(frozen=True)
class Station:
    code: str
    label: str
    capability: str
    waiting: Q  # which prescriptions wait here
    stages: tuple  # the steps recorded here


STATIONS = {
    s.code: s
    for s in (
        Station(
            "dispensing",
            _("Dispensing"),
            "dispense",
            Q(status__in=[Stage.APPROVED, Stage.RECHECK_FAILED]),
            (Stage.DISPENSED,),
        ),
        Station(
            "recheck", _("Re-check"), "recheck", Q(status=Stage.DISPENSED), (Stage.RECHECKED, Stage.RECHECK_FAILED)
        ),
        Station(
            "soaking", _("Soaking"), "decoct", Q(status=Stage.RECHECKED, decoction=Decoction.CENTER), (Stage.SOAKING,)
        ),
        Station("decocting", _("Decoction"), "decoct", Q(status=Stage.SOAKING), (Stage.DECOCTING,)),
        Station(
            "packaging",
            _("Packaging"),
            "decoct",
            Q(status=Stage.DECOCTING) | Q(status=Stage.RECHECKED, decoction=Decoction.SELF),
            (Stage.PACKAGED,),
        ),
    )
}


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
    if version.isdigit():
        queue = queue.filter(version=int(version))
    return queue.order_by("-version").first()
