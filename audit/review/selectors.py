"""What a pharmacist reviews: the samples routed to their institution, month by month."""

from django.db.models import F, QuerySet

from accounts.permissions import has_capability

from ..models import ReviewSample


def review_samples_for(pharmacist, *, month=None) -> QuerySet:
    """The samples the pharmacist's institution reviews (of `month`, its first day, when given),
    but the pharmacist's own prescriptions: those still to score first, then by clinician."""
    if not has_capability(pharmacist, "review_prescriptions") or not pharmacist.institution_id:
        return ReviewSample.objects.none()
    samples = ReviewSample.objects.filter(routed_to_id=pharmacist.institution_id).exclude(prescriber=pharmacist)
    if month is not None:
        samples = samples.filter(round__month=month)
    return samples.select_related("round", "prescription", "prescriber", "institution", "score").order_by(
        F("score__id").asc(nulls_first=True), "prescriber__name", "prescription_id"
    )


def review_months_for(pharmacist) -> list:
    """The months with samples for the pharmacist's institution, the latest first."""
    return list(
        review_samples_for(pharmacist).order_by("-round__month").values_list("round__month", flat=True).distinct()
    )


def review_visible_sample(pharmacist, pk: int) -> ReviewSample:
    """A sample the pharmacist's institution reviews, with what its page shows, or DoesNotExist."""
    return (
        review_samples_for(pharmacist)
        .select_related(
            "prescription__patient",
            "prescription__consult",
            "prescription__audit_run",
            "prescription__decision__pharmacist",
            "score__pharmacist",
        )
        .prefetch_related("prescription__items__herb")
        .get(pk=pk)
    )
