"""Writes to the catalogue and to stock. Stock changes only here, each with a movement row."""

from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, DecimalField, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import InstitutionKind
from accounts.permissions import can_see_institution, ensure_capability

from .models import Herb, MovementKind, StockBatch, StockMovement
from .pinyin import compact, guess_pinyin, initials_of
from .selectors import HERB_USE_KEY

HERB_USE_SECONDS = 24 * 3600


def herb_use_store(counts: dict[str, int]) -> None:
    """Keep how often the county prescribed each herb ({herb name: count}) for the suggestions'
    ranking; kept a day, so a lost count only means formula order until the next one."""
    cache.set(HERB_USE_KEY, dict(counts), HERB_USE_SECONDS)


class OutOfStock(ValidationError):
    """Not enough unexpired stock of a herb at the pharmacy (`index`: which of the herbs asked
    for, stock_consume_many)."""

    def __init__(self, message, index: int = 0):
        super().__init__(message)
        self.index = index


def herb_save(*, herb: Herb, actor) -> Herb:
    """Save a herb edited by an administrator: fill pinyin if left blank, keep the derived search
    keys in step, and record who verified it."""
    ensure_capability(actor, "manage_catalogue")
    if not herb.pinyin.strip():
        herb.pinyin = guess_pinyin(herb.name)
    herb.pinyin = " ".join(herb.pinyin.lower().split())
    herb.pinyin_compact = compact(herb.pinyin)
    herb.initials = initials_of(herb.pinyin)
    herb.base_herb = herb.base_herb or herb.name
    if herb.verified_by_pharmacist and not herb.verified_at:
        herb.verified_by, herb.verified_at = actor, timezone.now()
    elif not herb.verified_by_pharmacist:
        herb.verified_by, herb.verified_at = None, None
    herb.full_clean()
    herb.save()
    return herb


def _ensure_pharmacy(pharmacy, actor):
    ensure_capability(actor, "manage_stock")
    if pharmacy.kind != InstitutionKind.SHARED_PHARMACY:
        raise ValidationError({"pharmacy": _("Stock is kept only at a shared pharmacy.")})
    if not can_see_institution(actor, pharmacy.pk):
        raise ValidationError({"pharmacy": _("You cannot manage stock of this pharmacy.")})


@transaction.atomic
def stock_receive(
    *, pharmacy, herb: Herb, batch_no: str, expiry_date: date, quantity_g: Decimal, actor, note: str = ""
) -> StockBatch:
    """Add received stock to a batch (created on first receipt)."""
    _ensure_pharmacy(pharmacy, actor)
    quantity_g = Decimal(quantity_g)
    if quantity_g <= 0:
        raise ValidationError({"quantity_g": _("Received quantity must be more than 0 g.")})
    if not batch_no.strip():
        raise ValidationError({"batch_no": _("A batch number is required.")})
    batch, created = StockBatch.objects.select_for_update().get_or_create(
        pharmacy=pharmacy,
        herb=herb,
        batch_no=batch_no.strip(),
        defaults={"expiry_date": expiry_date, "quantity_g": 0},
    )
    if not created and batch.expiry_date != expiry_date:
        raise ValidationError(
            {
                "expiry_date": _("Batch %(batch)s already has expiry date %(date)s.")
                % {"batch": batch.batch_no, "date": batch.expiry_date}
            }
        )
    StockBatch.objects.filter(pk=batch.pk).update(quantity_g=F("quantity_g") + quantity_g)
    batch.refresh_from_db(fields=["quantity_g"])
    StockMovement.objects.create(
        batch=batch, kind=MovementKind.RECEIVE, delta_g=quantity_g, balance_g=batch.quantity_g, actor=actor, note=note
    )
    return batch


@transaction.atomic
def stock_consume(
    *, pharmacy, herb: Herb, quantity_g: Decimal, reference: str, actor, today=None
) -> list[StockMovement]:
    """Take `quantity_g` of a herb, earliest expiry first, from unexpired batches.

    Raises OutOfStock, changing nothing, when the unexpired stock is short."""
    (movements,) = stock_consume_many(
        pharmacy=pharmacy, wanted=[(herb, quantity_g)], reference=reference, actor=actor, today=today
    )
    return movements


@transaction.atomic
def stock_consume_many(*, pharmacy, wanted, reference: str, actor, today=None) -> list[list[StockMovement]]:
    """Take each (herb, grams) of `wanted` as stock_consume does: the batches of them all read and
    locked in one query, taken in one conditional UPDATE and recorded in one INSERT. Returns the
    movements of each, in order. Raises OutOfStock (`index`: the first herb short), changing
    nothing."""
    _ensure_pharmacy(pharmacy, actor)
    wanted = [(herb, Decimal(quantity)) for herb, quantity in wanted]
    if any(quantity <= 0 for _herb, quantity in wanted):
        raise ValidationError({"quantity_g": _("Quantity must be more than 0 g.")})
    batches = list(
        StockBatch.objects.select_for_update()
        .filter(
            pharmacy=pharmacy,
            herb__in=[herb for herb, _quantity in wanted],
            expiry_date__gte=today or timezone.localdate(),
            quantity_g__gt=0,
        )
        .order_by("expiry_date", "pk")
    )
    left = {batch.pk: batch.quantity_g for batch in batches}
    movements = [[] for _ in wanted]
    for index, (herb, quantity) in enumerate(wanted):
        own = [batch for batch in batches if batch.herb_id == herb.pk and left[batch.pk] > 0]
        available = sum((left[batch.pk] for batch in own), Decimal(0))
        if available < quantity:
            raise OutOfStock(
                _("%(herb)s is out of stock: %(need)s g needed, %(have)s g available.")
                % {"herb": herb.name, "need": quantity, "have": available},
                index=index,
            )
        for batch in own:
            take = min(left[batch.pk], quantity)
            left[batch.pk], quantity = left[batch.pk] - take, quantity - take
            movements[index].append(
                StockMovement(
                    batch=batch,
                    kind=MovementKind.DISPENSE,
                    delta_g=-take,
                    balance_g=left[batch.pk],
                    reference=reference,
                    actor=actor,
                )
            )
            if quantity <= 0:
                break
    _take(left, {batch.pk: batch.quantity_g for batch in batches}, wanted)
    StockMovement.objects.bulk_create([movement for herb_movements in movements for movement in herb_movements])
    return movements


def _take(left: dict, read: dict, wanted) -> None:
    """Lower each batch from what was read to what is `left`, in one UPDATE; a concurrent consumer
    that got there first makes it match fewer rows: OutOfStock."""
    taken = {pk: read[pk] - quantity for pk, quantity in left.items() if quantity != read[pk]}
    if not taken:
        return
    amount = Case(*(When(pk=pk, then=Value(take)) for pk, take in taken.items()), output_field=DecimalField())
    batches = StockBatch.objects.filter(pk__in=taken, quantity_g__gte=amount)
    updated = batches.update(quantity_g=F("quantity_g") - amount)
    if updated != len(taken):
        names = "、".join(herb.name for herb, _quantity in wanted)
        raise OutOfStock(_("%(herb)s stock changed while dispensing; try again.") % {"herb": names})
