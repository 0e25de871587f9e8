"""Reads of remote consults, scoped to who asks (teleconsult.permissions)."""

from statistics import median

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Min, Q, QuerySet, Value, When

from accounts.models import Institution
from accounts.permissions import has_capability, institution_tree_for
from accounts.roles import CAPABILITIES
from prescriptions.models import Prescription

from .models import RemoteConsult
from .permissions import remote_consults_visible_to
from .workflow import Status, Step

# How oversight counts a consult's status: answered one way or the other, withdrawn, or still
# open (waiting, with an expert, or with a question back).
OUTCOMES = {
    Status.PRESCRIBED: "prescribed",
    Status.ADVISED: "advised",
    Status.WITHDRAWN: "withdrawn",
    Status.OPEN: "open",
    Status.CLAIMED: "open",
    Status.ASKING: "open",
}


def remote_consults_for(user) -> QuerySet:
    """The consults `user` sees, with the people and places each shows; the open ones waiting for
    an expert first, then those with an expert or a question, then the closed, newest first."""
    waiting = Case(
        When(status=Status.OPEN, then=Value(0)),
        When(status__in=[Status.CLAIMED, Status.ASKING], then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        remote_consults_visible_to(user)
        .select_related(
            "patient",
            "institution",
            "requested_by",
            "routed_institution",
            "routed_expert",
            "claimed_by",
            "prescription",
        )
        .annotate(waiting=waiting)
        .order_by("waiting", "-created_at", "-pk")
    )


def with_current_prescriptions(consults) -> list[RemoteConsult]:
    """`consults` with `current_prescription` set on each: the newest version of the prescription
    it was answered with (a rejected one is revised into a new version, which takes over the
    patient's tracking code), or None. One query for them all."""
    consults = list(consults)
    numbers = {consult.prescription.number for consult in consults if consult.prescription_id}
    newest = {}
    for prescription in Prescription.objects.filter(number__in=numbers).order_by("number", "version"):
        newest[prescription.number] = prescription
    for consult in consults:
        consult.current_prescription = newest.get(consult.prescription.number) if consult.prescription_id else None
    return consults


def remote_consult_for(user, pk) -> RemoteConsult | None:
    """One consult `user` sees, with its current prescription (with_current_prescriptions), or None."""
    consult = remote_consults_for(user).filter(pk=pk).first()
    return with_current_prescriptions([consult])[0] if consult is not None else None


def hospitals_above(user) -> list[Institution]:
    """The active institutions above the user's own, the lead hospital first: where a request may
    be routed."""
    if not user.institution_id:
        return []
    tree = institution_tree_for(user)
    ids = [pk for pk in reversed(tree.ancestor_ids(user.institution_id)) if tree.rows[pk][3]]
    return [tree.institution(pk) for pk in ids]


def experts_above(user) -> QuerySet:
    """The active clinicians who answer remote consults at an institution above the user's own:
    whom a request may name."""
    ids = [institution.pk for institution in hospitals_above(user)]
    roles = CAPABILITIES["answer_remote_consults"]
    return (
        get_user_model()
        .objects.filter(is_active=True, institution_id__in=ids, groups__name__in=roles)
        .distinct()
        .select_related("institution")
        .order_by("institution__name", "name", "username")
    )


def may_request(user) -> bool:
    return has_capability(user, "request_remote_consults") and bool(hospitals_above(user))


def consults_by_clinic(*, start, end, institution_ids=None) -> list[dict]:
    """For oversight: per clinic, the remote consults requested from `start` to `end` (local dates,
    inclusive) at the clinics `institution_ids` (None: all): how many, how many were answered with
    a prescription or with advice, withdrawn, or are still open, and the median minutes from the
    request to its first claim (None when none was claimed); the busiest clinic first. One query."""
    consults = RemoteConsult.objects.filter(created_at__date__gte=start, created_at__date__lte=end)
    if institution_ids is not None:
        consults = consults.filter(institution_id__in=institution_ids)
    consults = consults.annotate(first_claim=Min("events__at", filter=Q(events__step=Step.CLAIMED)))
    clinics: dict[str, dict] = {}
    for name, state, asked, claimed in consults.values_list(
        "institution__name", "status", "created_at", "first_claim"
    ).order_by("institution__name", "pk"):
        counts = dict.fromkeys(OUTCOMES.values(), 0)
        row = clinics.setdefault(name, {"clinic": name, "requested": 0, **counts, "waits": []})
        row["requested"] += 1
        row[OUTCOMES[state]] += 1
        if claimed is not None:
            row["waits"].append((claimed - asked).total_seconds() / 60)
    for row in clinics.values():
        waits = row.pop("waits")
        row["minutes_to_claim"] = round(median(waits)) if waits else None
    return sorted(clinics.values(), key=lambda row: (-row["requested"], row["clinic"]))


def remote_consults_awaiting(user) -> QuerySet:
    """The consults waiting for a step of `user`'s (their home page): a claim, for those routed to
    them or, with no expert named, to their hospital; an answer, for those they hold; a reply to
    the expert's question, for those of their clinic."""
    waiting = Q(pk__in=[])
    if has_capability(user, "answer_remote_consults"):
        routed = Q(routed_expert=user) | Q(routed_expert__isnull=True, routed_institution_id=user.institution_id)
        waiting |= Q(status=Status.OPEN) & routed
        waiting |= Q(status__in=[Status.CLAIMED, Status.ASKING], claimed_by=user)
    if has_capability(user, "request_remote_consults"):
        waiting |= Q(status=Status.ASKING, institution_id=user.institution_id)
    return remote_consults_for(user).filter(waiting)
