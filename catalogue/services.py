"""Writes to the catalogue and to stock. Stock changes only here, each with a movement row."""

from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
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
    """Not enough unexpired stock of a herb at the pharmacy."""


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
    _ensure_pharmacy(pharmacy, actor)
    quantity_g = Decimal(quantity_g)
    if quantity_g <= 0:
        raise ValidationError({"quantity_g": _("Quantity must be more than 0 g.")})
    today = today or timezone.localdate()
    batches = list(
        StockBatch.objects.select_for_update()
        .filter(pharmacy=pharmacy, herb=herb, expiry_date__gte=today, quantity_g__gt=0)
        .order_by("expiry_date", "pk")
    )
    available = sum((batch.quantity_g for batch in batches), Decimal(0))
    if available < quantity_g:
        raise OutOfStock(
            _("%(herb)s is out of stock: %(need)s g needed, %(have)s g available.")
            % {"herb": herb.name, "need": quantity_g, "have": available}
        )
    movements, remaining = [], quantity_g
    for batch in batches:
        if remaining <= 0:
            break
        take = min(batch.quantity_g, remaining)
        # Conditional update: a concurrent consumer that got there first makes this match 0 rows.
        updated = StockBatch.objects.filter(pk=batch.pk, quantity_g__gte=take).update(quantity_g=F("quantity_g") - take)
        if not updated:
            raise OutOfStock(_("%(herb)s stock changed while dispensing; try again.") % {"herb": herb.name})
        batch.refresh_from_db(fields=["quantity_g"])
        movements.append(
            StockMovement.objects.create(
                batch=batch,
                kind=MovementKind.DISPENSE,
                delta_g=-take,
                balance_g=batch.quantity_g,
                reference=reference,
                actor=actor,
            )
        )
        remaining -= take
    return movements
