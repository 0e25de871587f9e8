"""Drawing each month's review sample and scoring the sampled prescriptions.

The draw follows the county's reading of the 中药饮片处方点评 rule (at least monthly; outpatient
饮片 prescriptions sampled at 0.5 % or more and at least 100 a month, all of them if fewer;
regulations.md §5): first TCM_REVIEW_SAMPLE_PER_CLINICIAN prescriptions of each clinician's
approved ones at random (all of them if fewer), so every clinician is looked at each month; then,
per reviewing institution (where the prescriptions' audits were routed: its pharmacists review
them), when that sample is smaller than the rule's minimum, more at random from the rest until it
meets it."""

import math
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prescriptions.models import Milestone

from ..exceptions import ReviewConflict
from ..models import ReviewRound, ReviewSample, ReviewScore
from ..permissions import ensure_can_review
from .checklist import checked

MONTHLY_MINIMUM = 100  # at least 100 prescriptions a month (all of them if fewer)
MONTHLY_SHARE = 0.005  # and at least 0.5 % of them


def month_span(month: date) -> tuple[datetime, datetime]:
    """The local month as [start, end) moments."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        timezone.make_aware(datetime.combine(month, time())),
        timezone.make_aware(datetime.combine(following, time())),
    )


def month_seed(month: date) -> int:
    """The draw's random seed: the month itself (202603), so a month's draw can be repeated."""
    return month.year * 100 + month.month


def rule_minimum(approved: int, *, minimum: int = MONTHLY_MINIMUM, share: float = MONTHLY_SHARE) -> int:
    """How many of `approved` prescriptions the rule wants reviewed: the larger of `minimum` and
    `share` of them (rounded up), and never more than there are."""
    return min(approved, max(minimum, math.ceil(approved * share)))


def _approved_in(month: date) -> list[tuple]:
    """(prescription, prescriber, institution, reviewing institution) of every version approved in
    the local month, in prescription order (the draw's order, so the seed repeats it)."""
    start, end = month_span(month)
    return list(
        Milestone.objects.filter(approved_at__gte=start, approved_at__lt=end, prescription__audit_run__isnull=False)
        .order_by("prescription_id")
        .values_list("prescription_id", "prescriber_id", "institution_id", "prescription__audit_run__routed_to_id")
    )


def _draw(candidates: list[tuple], rng: random.Random, per_clinician: int, minimum: int, share: float) -> dict:
    """prescription id → topped up? for the drawn ones."""
    by_clinician, by_reviewer = defaultdict(list), defaultdict(list)
    for row in candidates:
        by_clinician[row[1]].append(row[0])
        by_reviewer[row[3]].append(row[0])
    drawn = {}
    for prescriber in sorted(by_clinician):
        ids = by_clinician[prescriber]
        drawn |= dict.fromkeys(rng.sample(ids, min(per_clinician, len(ids))), False)
    for reviewer in sorted(by_reviewer):
        ids = by_reviewer[reviewer]
        missing = rule_minimum(len(ids), minimum=minimum, share=share) - sum(pk in drawn for pk in ids)
        if missing > 0:
            rest = [pk for pk in ids if pk not in drawn]
            drawn |= dict.fromkeys(rng.sample(rest, missing), True)
    return drawn


def review_draw(
    *, month: date, per_clinician: int | None = None, minimum: int = MONTHLY_MINIMUM, share: float = MONTHLY_SHARE
) -> ReviewRound:
    """Draw the review sample of the prescription versions approved in the local `month` (its
    first day or any day of it): `per_clinician` (TCM_REVIEW_SAMPLE_PER_CLINICIAN) per clinician,
    topped up per reviewing institution to the rule's minimum (rule_minimum). Seeded by the month:
    the same approvals give the same sample. Idempotent: a month already drawn is returned as it
    is, nothing drawn again. Raises ValidationError for a month that has not ended."""
    month = month.replace(day=1)
    if month_span(month)[1] > timezone.now():
        raise ValidationError({"month": [_("A month is drawn once it has ended.")]})
    existing = ReviewRound.objects.filter(month=month).first()
    if existing:
        return existing
    per_clinician = per_clinician or settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN
    candidates = _approved_in(month)
    seed = month_seed(month)
    drawn = _draw(candidates, random.Random(seed), per_clinician, minimum, share)
    try:
        with transaction.atomic():
            made = ReviewRound.objects.create(
                month=month, seed=seed, per_clinician=per_clinician, approved=len(candidates)
            )
            ReviewSample.objects.bulk_create(
                ReviewSample(
                    round=made,
                    prescription_id=pk,
                    prescriber_id=prescriber,
                    institution_id=institution,
                    routed_to_id=reviewer,
                    topped_up=drawn[pk],
                )
                for pk, prescriber, institution, reviewer in candidates
                if pk in drawn
            )
    except IntegrityError:  # drawn at the same moment by another worker: theirs stands
        return ReviewRound.objects.get(month=month)
    return made


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


@transaction.atomic
def review_score(*, pharmacist, sample: ReviewSample, verdict: str, reasons=(), comment: str = "") -> ReviewScore:
    """Score a sampled prescription: a verdict and, unless appropriate, at least one item of the
    verdict's own checklist category (audit.review.checklist.checked), and a comment (at most 500
    characters; required for an "other" item). One score per sample: a second one, or one made at
    the same moment, raises ReviewConflict and saves nothing. Raises PermissionDenied for a sample
    not routed to the pharmacist's institution or written by them (ensure_can_review), and
    ValidationError at the field for input the checklist refuses."""
    ensure_can_review(pharmacist, sample)
    if ReviewScore.objects.filter(sample=sample).exists():
        raise ReviewConflict(_("This prescription has already been reviewed."))
    comment = str(comment).strip()
    if len(comment) > 500:
        raise ValidationError({"comment": [_("Write at most 500 characters.")]})
    codes = checked(verdict, reasons, comment)
    try:
        with transaction.atomic():
            return ReviewScore.objects.create(
                sample=sample, pharmacist=pharmacist, verdict=verdict, reasons=codes, comment=comment
            )
    except IntegrityError:
        raise ReviewConflict(_("Another pharmacist reviewed this prescription first.")) from None
