"""Reads behind the dashboards: prescribing-to-delivery times and the urgent-decoction target,
over the prescriptions the caller passes (already scoped to who is asking)."""

import statistics

from prescriptions.models import TraceEvent
from prescriptions.selectors import prescriptions_visible_to
from prescriptions.workflow import Stage


def delivery_sla(prescriptions) -> dict:
    """Prescribing → delivered (or picked up): fastest, median, p90 and the share within 4 h and 24 h."""
    submitted = dict(
        TraceEvent.objects.filter(prescription__in=prescriptions, stage=Stage.SUBMITTED).values_list(
            "prescription_id", "at"
        )
    )
    hours = []
    for prescription_id, at in TraceEvent.objects.filter(
        prescription__in=prescriptions, stage__in=[Stage.DELIVERED, Stage.PICKED_UP]
    ).values_list("prescription_id", "at"):
        if prescription_id in submitted:
            hours.append((at - submitted[prescription_id]).total_seconds() / 3600)
    if not hours:
        return {"count": 0}
    hours.sort()
    return {
        "count": len(hours),
        "fastest_h": round(hours[0], 2),
        "median_h": round(statistics.median(hours), 2),
        "p90_h": round(hours[min(len(hours) - 1, int(0.9 * len(hours)))], 2),
        "within_4h": round(sum(h <= 4 for h in hours) / len(hours), 3),
        "within_24h": round(sum(h <= 24 for h in hours) / len(hours), 3),
    }


def urgent_target(prescriptions, *, target_minutes: int) -> dict:
    """Urgent (急煎) prescriptions: how many went from approval to packaged within the target."""
    urgent = prescriptions.filter(urgent=True)
    approved = dict(
        TraceEvent.objects.filter(prescription__in=urgent, stage=Stage.APPROVED).values_list("prescription_id", "at")
    )
    minutes = [
        (at - approved[pk]).total_seconds() / 60
        for pk, at in TraceEvent.objects.filter(prescription__in=urgent, stage=Stage.PACKAGED).values_list(
            "prescription_id", "at"
        )
        if pk in approved
    ]
    met = sum(m <= target_minutes for m in minutes)
    return {
        "count": len(minutes),
        "met": met,
        "share": round(met / len(minutes), 3) if minutes else None,
        "target_minutes": target_minutes,
    }


def prescriptions_waiting_for(user) -> list:
    """The prescriptions waiting for their prescriber: the user's own rejected (returned by the
    pharmacist) prescriptions not yet revised into a new version, among those they may see, oldest
    first, each with the pharmacist's decision (its reasons). Two queries."""
    return list(
        prescriptions_visible_to(user)
        .filter(prescriber=user, status=Stage.REJECTED, revision__isnull=True)
        .select_related("decision", "consult")
        .order_by("updated_at", "pk")
    )
