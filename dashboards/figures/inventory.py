"""Stock at the shared pharmacies the user may see: herbs whose stock runs low, batches expiring
within 30, 60 and 90 days, the consumption rate of each herb and the days its stock covers.

Stock and expiry are read live from the stock batches (catalogue.StockBatch, a few thousand rows
at most), as of today; consumption comes from the ConsumptionDay rollup, over the 30 days ending
on the range's last day. A herb is low at a pharmacy when its unexpired stock covers fewer days
than settings.TCM_STOCK_COVER_DAYS_MIN at that rate (the catalogue keeps no per-herb minimum)."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution, InstitutionKind
from catalogue.models import StockBatch

from ..charts import bar, chart
from ..frame import Table
from ..models import ConsumptionDay
from ..pages import Figures

RATE_DAYS = 30
GRAM = Decimal("0.01")
WINDOWS = (30, 60, 90)  # days to expiry
WINDOW_LABELS = {
    0: _("Expired"),
    30: _("Within 30 days"),
    60: _("Within 60 days"),
    90: _("Within 90 days"),
}
# The chart's bars: each batch once, in the nearest window.
BAR_LABELS = {0: _("Expired"), 30: _("0–30 days"), 60: _("31–60 days"), 90: _("61–90 days")}
COVER_COLUMNS = [
    ("pharmacy", _("Pharmacy")),
    ("herb", _("Herb")),
    ("stock_g", _("Stock (g)")),
    ("consumed_g", _("Dispensed in 30 days (g)")),
    ("rate_g", _("Rate (g/day)")),
    ("cover_days", _("Days of cover")),
]
BATCH_COLUMNS = [
    ("pharmacy", _("Pharmacy")),
    ("herb", _("Herb")),
    ("batch_no", _("Batch number")),
    ("expiry_date", _("Expiry date")),
    ("quantity_g", _("Quantity (g)")),
    ("days_left", _("Days left")),
    ("window", _("Expires")),
]


def pharmacies_in(institution_ids) -> dict[int, str]:
    """The shared pharmacies among the institutions (None: all), id → name."""
    pharmacies = Institution.objects.filter(kind=InstitutionKind.SHARED_PHARMACY)
    if institution_ids is not None:
        pharmacies = pharmacies.filter(pk__in=institution_ids)
    return dict(pharmacies.order_by("code").values_list("pk", "name"))


def _cover(pharmacies: dict, end, today) -> list[dict]:
    """Per pharmacy and herb with stock or recent dispensing: stock, rate and days of cover."""
    figures = {}
    stock = (
        StockBatch.objects.filter(pharmacy__in=pharmacies)
        .values("pharmacy", "herb", "herb__name")
        .annotate(grams=Sum("quantity_g", filter=Q(expiry_date__gte=today)))
        .order_by()
    )
    for row in stock:
        figures[(row["pharmacy"], row["herb"])] = [row["herb__name"], row["grams"] or Decimal(0), Decimal(0)]
    consumed = (
        ConsumptionDay.objects.filter(pharmacy__in=pharmacies, day__range=(end - timedelta(RATE_DAYS - 1), end))
        .values("pharmacy", "herb", "herb__name")
        .annotate(grams=Sum("grams"))
        .order_by()
    )
    for row in consumed:
        figures.setdefault((row["pharmacy"], row["herb"]), [row["herb__name"], Decimal(0), Decimal(0)])[2] = row[
            "grams"
        ]
    rows = []
    for (pharmacy, _herb), (name, grams, used) in figures.items():
        grams, used = grams.quantize(GRAM), used.quantize(GRAM)
        rate = (used / RATE_DAYS).quantize(GRAM)
        cover = (grams / (used / RATE_DAYS)).quantize(Decimal("0.1")) if used else None
        rows.append(
            {
                "pharmacy": pharmacies[pharmacy],
                "herb": name,
                "stock_g": grams,
                "consumed_g": used,
                "rate_g": rate,
                "cover_days": cover,
            }
        )
    rows.sort(key=lambda r: (r["cover_days"] is None, r["cover_days"] or 0, r["pharmacy"], r["herb"]))
    return rows


def _window(days_left: int) -> int:
    if days_left < 0:
        return 0
    return next(window for window in WINDOWS if days_left <= window)


def _expiring(pharmacies: dict, today) -> list[dict]:
    """Batches with stock left that expire within the last window, or have expired, soonest first."""
    batches = (
        StockBatch.objects.filter(
            pharmacy__in=pharmacies, quantity_g__gt=0, expiry_date__lte=today + timedelta(WINDOWS[-1])
        )
        .select_related("herb")
        .order_by("expiry_date", "herb__name", "pk")
    )
    rows = []
    for batch in batches:
        days_left = (batch.expiry_date - today).days
        rows.append(
            {
                "pharmacy": pharmacies[batch.pharmacy_id],
                "herb": batch.herb.name,
                "batch_no": batch.batch_no,
                "expiry_date": batch.expiry_date,
                "quantity_g": batch.quantity_g,
                "days_left": days_left,
                "window": WINDOW_LABELS[_window(days_left)],
                "window_days": _window(days_left),
            }
        )
    return rows


def inventory(filters) -> Figures:
    pharmacies = pharmacies_in(filters.institution_ids)
    today = timezone.localdate()
    cover = _cover(pharmacies, filters.end, today) if pharmacies else []
    expiring = _expiring(pharmacies, today) if pharmacies else []
    minimum = settings.TCM_STOCK_COVER_DAYS_MIN
    low = [row for row in cover if row["cover_days"] is not None and row["cover_days"] < minimum]
    within = {days: sum(0 <= row["days_left"] <= days for row in expiring) for days in WINDOWS}
    return Figures(
        tiles=[
            (_("Herbs running low"), len(low)),
            *((WINDOW_LABELS[days], within[days]) for days in WINDOWS),
            (_("Expired, still in stock"), sum(row["days_left"] < 0 for row in expiring)),
        ],
        charts=_charts(cover, expiring, several=len(pharmacies) > 1) if pharmacies else [],
        tables=[
            Table("low", _("Running low: fewer days of cover than the minimum"), COVER_COLUMNS, low),
            Table("expiring", _("Batches expiring within 90 days, or expired"), BATCH_COLUMNS, expiring),
            Table("cover", _("Consumption and days of cover per herb"), COVER_COLUMNS, cover),
        ],
        live=(_("Stock"), _("Expiring batches")),
        extra={"pharmacies": list(pharmacies.values()), "minimum_days": minimum, "rate_days": RATE_DAYS},
    )


def _charts(cover, expiring, *, several: bool) -> list:
    lowest = [row for row in cover if row["cover_days"] is not None][:20]
    counts = {days: sum(row["window_days"] == days for row in expiring) for days in BAR_LABELS}
    return [
        chart(
            "cover",
            _("Days of cover, the lowest 20"),
            bar(
                [f"{row['herb']}（{row['pharmacy']}）" if several else row["herb"] for row in lowest],
                {_("Days of cover"): [float(row["cover_days"]) for row in lowest]},
                horizontal=True,
            ),
        ),
        chart(
            "expiring",
            _("Batches by time to expiry"),
            bar([BAR_LABELS[days] for days in counts], {_("Batches"): list(counts.values())}),
        ),
    ]
