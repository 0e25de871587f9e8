"""The history's post-hoc review (事后点评): every month that has ended is drawn as beat would have
drawn it (audit.review.services.review_draw), and the samples of all but the last of those months
are scored by a pharmacist of the reviewing institution, so the review dashboard has a past and a
month still being reviewed. Mostly appropriate; irrational more often for the clinicians the
pharmacists reject more (the history's awkward few), with one or two items of the verdict's own
checklist category. A random stream of its own: the prescriptions are the same with or without it."""

import random
from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Min
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from audit.models import ReviewSample, ReviewScore, Verdict
from audit.review.checklist import ITEMS
from audit.review.services import review_draw
from prescriptions.models import Milestone

IRRATIONAL = [Verdict.NONSTANDARD, Verdict.INAPPROPRIATE, Verdict.EXCESSIVE]
IRRATIONAL_WEIGHTS = [5, 4, 1]


def _ended_months(end_day: date) -> list[date]:
    """The months of approvals that ended by the history's last day (and by today)."""
    first = Milestone.objects.aggregate(first=Min("approved_at"))["first"]
    if first is None:
        return []
    boundary = min(end_day + timedelta(days=1), timezone.localdate()).replace(day=1)
    month, months = timezone.localtime(first).date().replace(day=1), []
    while month < boundary:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _score(rng, sample, pharmacists, reject_rate) -> ReviewScore | None:
    pk, prescriber, routed_to = sample
    who = [p for p in pharmacists.get(routed_to, ()) if p != prescriber]
    if not who:
        return None
    if rng.random() < 0.08 + 2 * reject_rate.get(prescriber, 0.02):
        verdict = rng.choices(IRRATIONAL, IRRATIONAL_WEIGHTS)[0]
        items = rng.sample(ITEMS[verdict], k=rng.choice((1, 1, 1, 2)))
        reasons = [item.code for item in ITEMS[verdict] if item in items]
        comment = "见处方用法" if any(item.needs_comment for item in items) else ""
    else:
        verdict, reasons, comment = Verdict.APPROPRIATE, [], ""
    return ReviewScore(sample_id=pk, pharmacist_id=rng.choice(who), verdict=verdict, reasons=reasons, comment=comment)


def review_history(*, seed: int, county, end_day: date) -> int:
    """Draw the ended months and score all but the last; returns the rows written."""
    months = _ended_months(end_day)
    if not months:
        return 0
    rng = random.Random(f"review-{seed}")
    rounds = [review_draw(month=month) for month in months]
    pharmacists = defaultdict(list)
    for pk, institution in User.objects.filter(groups__name=Role.PHARMACIST, is_active=True).values_list(
        "pk", "institution_id"
    ):
        pharmacists[institution].append(pk)
    reject_rate = {c.user.pk: c.reject_rate for c in county.clinicians}
    waiting = ReviewSample.objects.filter(round__month__lt=months[-1], score__isnull=True).order_by("pk")
    scores = [
        _score(rng, sample, pharmacists, reject_rate)
        for sample in waiting.values_list("pk", "prescriber_id", "routed_to_id")
    ]
    scores = [score for score in scores if score is not None]
    ReviewScore.objects.bulk_create(scores, batch_size=2000)
    return len(rounds) + ReviewSample.objects.filter(round__in=rounds).count() + len(scores)
