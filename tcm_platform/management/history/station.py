"""The station-side rows of the history that the trace does not carry: the shared pharmacy's stock
at the history's end (batches whose quantities follow the county's recent consumption, some short,
some expiring within 30, 60 or 90 days) with their receipts, and the daily random inspections
(动态抽检) of the decoctions packaged, passed or failed by a pharmacist. From a stream of its own,
so the prescriptions are the same with or without it; the same seed gives the same rows."""

import random
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.roles import Role
from catalogue.models import MovementKind, StockBatch, StockMovement
from core.bulk import prepare, reserve_ids
from decoction.models import Inspection, InspectionResult, StationSettings

RECENT = timedelta(days=90)  # the consumption the stock is sized by
# The decoction operators' and dispensers' slips, by their place in the staff list: one of each
# is careless, so the quality dashboard has someone to point at.
INSPECTION_FAILURES = (0.02, 0.04, 0.10)
FAILURE_NOTES = ("煎液量不足", "煎煮时间不足，有效成分煎出不充分", "包装密封不严", "标签信息不全", "煎液有焦糊味")
BATCH = ("id", "pharmacy_id", "herb_id", "batch_no", "expiry_date", "quantity_g", "received_at")
MOVEMENT = ("batch_id", "kind", "delta_g", "balance_g", "reference", "actor_id", "note", "created_at")
INSPECTION = ("prescription_id", "picked_on", "result", "notes", "inspector_id", "inspected_at")
STATION_TABLES = (StockBatch, StockMovement, Inspection)


class Station:
    """What the pharmacy saw of the prescriptions as they were written, and its rows at the end."""

    def __init__(self, *, seed, end_day, county):
        self.rng, self.seed = random.Random(f"station-{seed}"), seed
        self.end = datetime.combine(end_day, time(0), timezone.get_default_timezone())
        self.county = county
        self.used = Counter()  # herb → grams dispensed in the RECENT days before the end
        self.packaged = defaultdict(list)  # local day → [(prescription id, packaged at, operator)]

    def observe(self, plans) -> None:
        """Note the herbs dispensed lately and the decoctions packaged, from a written batch."""
        for plan in plans:
            stages = {stage: (actor, at) for stage, actor, at, _data in plan.events}
            if "dispensed" in stages and stages["dispensed"][1] >= self.end - RECENT:
                for herb, grams, _instruction in plan.items:
                    self.used[herb] += grams * plan.doses
            if plan.decoction == "center" and "packaged" in stages:
                _actor, at = stages["packaged"]
                operator = stages.get("decocting", stages["packaged"])[0]
                self.packaged[at.astimezone(self.end.tzinfo).date()].append((plan.pk, at, operator))

    def loads(self) -> list:
        """The stock batches, their movements and the inspections, made ready to write."""
        batches, movements = self._stock()
        return [
            prepare(StockBatch, BATCH, batches),
            prepare(StockMovement, MOVEMENT, movements),
            prepare(Inspection, INSPECTION, self._inspections()),
        ]

    def _stock(self):
        pharmacy, rng = self.county.pharmacy, self.rng
        receiver = self.county.staff[Role.DISPENSER][0]
        taken = set(StockBatch.objects.filter(pharmacy=pharmacy).values_list("batch_no", flat=True))
        planned = []
        for herb in sorted(self.used, key=lambda h: h.pk):
            per_day = self.used[herb] / RECENT.days
            cover = rng.choice((rng.uniform(2, 6), rng.uniform(7, 14), *(rng.uniform(15, 90),) * 6))
            wanted = per_day * Decimal(str(round(cover, 2)))
            for herb_, number, *rest in _batches(rng, herb, wanted, per_day, self.end):
                batch_no = f"H{self.seed}-{self.end:%y%m%d}-{herb.pk:04d}-{number}"
                if batch_no not in taken:  # a second run with the same seed and end adds none
                    planned.append((herb_, batch_no, *rest))
        batches, movements = [], []
        for (herb, batch_no, expiry, quantity, received, used), pk in zip(
            planned, reserve_ids(StockBatch, len(planned)), strict=True
        ):
            batches.append((pk, pharmacy.pk, herb.pk, batch_no, expiry, quantity, received))
            received_g = quantity + used
            movements.append((pk, MovementKind.RECEIVE, received_g, received_g, "", receiver.pk, "入库", received))
            if used:
                summary = ("历史调剂（汇总）", None, "", self.end - timedelta(minutes=1))
                movements.append((pk, MovementKind.DISPENSE, -used, quantity, *summary))
        return batches, movements

    def _inspections(self):
        """Each day, the share of the decoctions packaged that StationSettings picks (at least
        one), inspected by a pharmacist a few hours later; those not inspected by the end wait."""
        rng, pharmacists = self.rng, self.county.staff[Role.PHARMACIST]
        operators = self.county.staff[Role.DECOCTION_OPERATOR]
        share = float(StationSettings.current().inspection_share_pct) / 100
        for day in sorted(self.packaged):
            packaged = self.packaged[day]
            for prescription_id, at, operator in rng.sample(packaged, max(1, round(len(packaged) * share))):
                inspected = at + timedelta(hours=rng.uniform(1, 6))
                if inspected >= self.end:
                    yield prescription_id, day, InspectionResult.PENDING, "", None, None
                    continue
                slip = INSPECTION_FAILURES[operators.index(operator) % 3] if operator in operators else 0.03
                failed = rng.random() < slip
                result = InspectionResult.FAILED if failed else InspectionResult.PASSED
                notes = rng.choice(FAILURE_NOTES) if failed else ""
                yield prescription_id, day, result, notes, rng.choice(pharmacists).pk, inspected.replace(microsecond=0)


def _batches(rng, herb, wanted, per_day, end):
    """One to three batches holding about `wanted` grams (at least 100 g each, in tens of grams):
    (herb, number, expiry, quantity, received at, grams dispensed from it since). Expiries spread
    so that some fall within 30, 60 and 90 days."""
    count = rng.choice((1, 1, 2, 2, 3))
    for number in range(1, count + 1):
        quantity = max(Decimal(100), (wanted / count / 10).quantize(Decimal(1)) * 10)
        days = rng.choice((rng.randint(3, 30), rng.randint(31, 60), rng.randint(61, 90), *(rng.randint(91, 720),) * 7))
        received = end - timedelta(days=rng.randint(5, 120), minutes=rng.randint(0, 600))
        since = Decimal((end - received).days) * per_day / count
        used = since.quantize(Decimal("0.01")) if number == 1 else Decimal(0)  # the oldest batch is drawn first
        yield herb, number, end.date() + timedelta(days=days), quantity, received, used
