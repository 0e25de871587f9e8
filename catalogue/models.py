"""The herb catalogue (饮片目录), its reference rule lists, and stock at the shared pharmacy.

The reference columns (doses, toxicity, special decoction, pregnancy, source, confidence) come
from the files in catalogue/data/ via `manage.py import_catalogue`; price, active and the
pharmacist's verification are set by administrators and survive a re-import.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Toxicity(models.TextChoices):
    NONE = "", _("Not toxic")
    SLIGHT = "slight", "小毒"
    TOXIC = "toxic", "有毒"
    HIGH = "high", "大毒"


class SpecialDecoction(models.TextChoices):
    NONE = "", _("None")
    DECOCT_FIRST = "decoct_first", "先煎"
    ADD_LATER = "add_later", "后下"
    WRAP = "wrap", "包煎"
    MELT = "melt", "烊化"
    DECOCT_SEPARATELY = "decoct_separately", "另煎"
    INFUSE = "infuse", "冲服"
    DECOCT_AS_WATER = "decoct_as_water", "煎汤代水"


class PregnancyLevel(models.TextChoices):
    NONE = "", _("No restriction")
    FORBIDDEN = "forbidden", "禁用"
    AVOID = "avoid", "忌用"
    CAUTION = "caution", "慎用"


class DecoctionUse(models.TextChoices):
    """How the 药典's 【用法与用量】 says the herb is taken, where that is not simply decocted."""

    DECOCT = "", _("Decocted")
    NOT_FOR_DECOCTION = "not_for_decoction", "不入煎剂"
    PILLS_ONLY = "pills_only", "宜入丸散"
    DISSOLVE = "dissolve", "溶入汤液"
    INFUSE = "infuse", "研末冲服"
    PROCESSED_ONLY = "processed_only", "一般炮制后用（生品无内服剂量）"


class Confidence(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class Herb(models.Model):
    name = models.CharField(_("name"), max_length=20, unique=True)
    pinyin = models.CharField(_("pinyin"), max_length=80, help_text=_("Syllables separated by spaces."))
    pinyin_compact = models.CharField(_("pinyin without spaces"), max_length=80, db_index=True, editable=False)
    initials = models.CharField(_("pinyin initials"), max_length=20, db_index=True)
    base_herb = models.CharField(
        _("base herb group"),
        max_length=20,
        db_index=True,
        help_text=_("Processed forms share their base herb's group, e.g. 炙甘草 → 甘草, 制川乌 → 乌头."),
    )
    category = models.CharField(_("category"), max_length=20, blank=True)
    dose_min_g = models.DecimalField(
        _("adult minimum daily dose (g)"), max_digits=7, decimal_places=3, null=True, blank=True
    )
    dose_max_g = models.DecimalField(
        _("adult maximum daily dose (g)"), max_digits=7, decimal_places=3, null=True, blank=True
    )
    toxicity = models.CharField(_("toxicity"), max_length=10, choices=Toxicity.choices, blank=True)
    special_decoction = models.CharField(
        _("special decoction"), max_length=20, choices=SpecialDecoction.choices, blank=True
    )
    pregnancy = models.CharField(_("pregnancy level"), max_length=10, choices=PregnancyLevel.choices, blank=True)
    external_only = models.BooleanField(_("external use only"), default=False)
    incompatible_with = models.CharField(_("incompatible with (as in the pharmacopoeia)"), max_length=200, blank=True)
    in_pharmacopoeia = models.BooleanField(
        _("in ChP 2020"), default=True, help_text=_("False for entries kept only so that rules resolve.")
    )
    price_per_g = models.DecimalField(_("price per gram (yuan)"), max_digits=8, decimal_places=4, null=True, blank=True)
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive herbs cannot be prescribed."))
    source = models.TextField(_("source"), blank=True)
    confidence = models.CharField(_("confidence"), max_length=10, choices=Confidence.choices)
    notes = models.TextField(_("notes"), blank=True)
    # The rule data of catalogue/data/herb_rules.csv, each row with its citation (rule_source).
    monograph = models.CharField(
        _("ChP 2020 monograph"),
        max_length=20,
        blank=True,
        db_index=True,
        help_text=_(
            "The pharmacopoeia monograph the herb is listed under; two herbs of one monograph are a duplicate."
        ),
    )
    child_forbidden = models.BooleanField(_("forbidden for children"), default=False)
    decoction_use = models.CharField(_("use in a decoction"), max_length=20, choices=DecoctionUse.choices, blank=True)
    decoction_method_conditional = models.BooleanField(
        _("method depends on the purpose"), default=False, help_text=_("e.g. 大黄 后下 only when used to purge.")
    )
    method_also_accepted = models.CharField(_("other accepted methods"), max_length=60, blank=True)
    dose_basis = models.CharField(_("basis of the checked dose range"), max_length=200, blank=True)
    inactive_reason = models.CharField(_("why inactive"), max_length=200, blank=True)
    drastic_purgative = models.BooleanField(_("drastic purgative (峻下逐水)"), default=False)
    aconite_alkaloid = models.BooleanField(_("aconite alkaloids (乌头类)"), default=False)
    rule_source = models.CharField(_("cited source"), max_length=200, blank=True)
    pharmacopoeia_excerpt = models.TextField(_("pharmacopoeia excerpt"), blank=True)
    verified_by_pharmacist = models.BooleanField(_("verified by pharmacist"), default=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("herb")
        verbose_name_plural = _("herbs")
        ordering = ["initials", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dose_min_g__isnull=True)
                | Q(dose_max_g__isnull=True)
                | Q(dose_min_g__lte=models.F("dose_max_g")),
                name="herb_dose_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(price_per_g__isnull=True) | Q(price_per_g__gte=0), name="herb_price_not_negative"
            ),
        ]

    def __str__(self):
        return self.name


class AliasKind(models.TextChoices):
    SYNONYM = "synonym", _("Synonym or old name")
    DISPENSING = "dispensing", _("Dispensing convention")


class HerbAlias(models.Model):
    """Another name a prescription may use for a catalogue herb: a synonym or old name (元胡 →
    延胡索, 生川乌 → 川乌) or a dispensing convention, 写X付Y (炙芪 → 炙黄芪, 制附片 → 附子 饮片).
    `basis` names the source that says so (a 药典 monograph's 【炮制】, a textbook, a regulation)."""

    alias = models.CharField(_("alias"), max_length=20, unique=True)
    herb = models.ForeignKey(Herb, verbose_name=_("herb"), on_delete=models.CASCADE, related_name="aliases")
    kind = models.CharField(_("kind"), max_length=12, choices=AliasKind.choices, default=AliasKind.SYNONYM)
    pinyin_compact = models.CharField(_("pinyin without spaces"), max_length=80, db_index=True, editable=False)
    initials = models.CharField(_("pinyin initials"), max_length=20, db_index=True, editable=False)
    basis = models.CharField(_("basis"), max_length=300, help_text=_("The source that names this alias."))
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("herb alias")
        verbose_name_plural = _("herb aliases")
        ordering = ["alias"]

    def __str__(self):
        return f"{self.alias} → {self.herb.name}"


class BareName(models.Model):
    """What is dispensed for a bare name the dispensing conventions give processed (写川乌付制川乌,
    写半夏付法半夏). Applied only when settings.TCM_BARE_NAME_POLICY is "processed"; with "literal"
    a bare name means the herb the 药典 names so (the raw drug)."""

    written = models.CharField(_("name as written"), max_length=20, unique=True)
    herb = models.ForeignKey(Herb, verbose_name=_("herb dispensed"), on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(_("basis"), max_length=300)

    class Meta:
        verbose_name = _("bare name dispensed processed")
        verbose_name_plural = _("bare names dispensed processed")
        ordering = ["written"]

    def __str__(self):
        return f"{self.written} → {self.herb.name}"


class IncompatibilityKind(models.TextChoices):
    EIGHTEEN = "eighteen", "十八反"
    NINETEEN = "nineteen", "十九畏"


class IncompatibilityRule(models.Model):
    """Any herb of group A together with any herb of group B in one prescription is a hit."""

    kind = models.CharField(_("kind"), max_length=10, choices=IncompatibilityKind.choices)
    group_a = models.ManyToManyField(Herb, verbose_name=_("group A"), related_name="+")
    group_b = models.ManyToManyField(Herb, verbose_name=_("group B"), related_name="+")
    names_a = models.CharField(_("group A as listed"), max_length=300)
    names_b = models.CharField(_("group B as listed"), max_length=300)
    source = models.TextField(_("source"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("incompatibility rule")
        verbose_name_plural = _("incompatibility rules")
        ordering = ["kind", "pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "names_a", "names_b"], name="incompatibility_unique")]

    def __str__(self):
        return f"{self.get_kind_display()}：{self.names_a} ↔ {self.names_b}"


class ToxicListEntry(models.Model):
    """《医疗用毒性药品管理办法》 (1988) list of 28 toxic TCM items, each resolved to a herb."""

    name = models.CharField(_("name as listed"), max_length=20, unique=True)
    herb = models.ForeignKey(Herb, verbose_name=_("herb"), on_delete=models.PROTECT, related_name="toxic_list_entries")
    source = models.TextField(_("source"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("toxic list entry")
        verbose_name_plural = _("toxic list")
        ordering = ["pk"]

    def __str__(self):
        return self.name


class PregnancyCaution(models.Model):
    """A pregnancy restriction with its own source; textbook-only rows advise rather than block."""

    herb = models.OneToOneField(
        Herb, verbose_name=_("herb"), on_delete=models.CASCADE, related_name="pregnancy_caution"
    )
    level = models.CharField(_("level"), max_length=10, choices=PregnancyLevel.choices[1:])
    from_pharmacopoeia = models.BooleanField(_("from ChP 2020"), default=True)
    source = models.TextField(_("source"), blank=True)
    confidence = models.CharField(_("confidence"), max_length=10, choices=Confidence.choices)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("pregnancy caution")
        verbose_name_plural = _("pregnancy cautions")
        ordering = ["herb__initials"]

    def __str__(self):
        return f"{self.herb.name}：{self.get_level_display()}"


class StockBatch(models.Model):
    """Stock of one herb batch at one shared pharmacy. Changed only through catalogue.services."""

    pharmacy = models.ForeignKey(
        "accounts.Institution", verbose_name=_("pharmacy"), on_delete=models.PROTECT, related_name="stock_batches"
    )
    herb = models.ForeignKey(Herb, verbose_name=_("herb"), on_delete=models.PROTECT, related_name="stock_batches")
    batch_no = models.CharField(_("batch number"), max_length=40)
    expiry_date = models.DateField(_("expiry date"))
    quantity_g = models.DecimalField(_("quantity (g)"), max_digits=12, decimal_places=2)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock batch")
        verbose_name_plural = _("stock batches")
        ordering = ["herb__initials", "expiry_date"]
        constraints = [
            models.UniqueConstraint(fields=["pharmacy", "herb", "batch_no"], name="stock_batch_unique"),
            models.CheckConstraint(condition=Q(quantity_g__gte=0), name="stock_not_negative"),
        ]

    def __str__(self):
        return f"{self.herb.name} {self.batch_no}"


class MovementKind(models.TextChoices):
    RECEIVE = "receive", _("Received")
    DISPENSE = "dispense", _("Dispensed out")
    ADJUST = "adjust", _("Stock-take adjustment")
    RETURN = "return", _("Returned")


class StockMovement(models.Model):
    """Every change of a batch's quantity, append-only."""

    batch = models.ForeignKey(StockBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=10, choices=MovementKind.choices)
    delta_g = models.DecimalField(_("change (g)"), max_digits=12, decimal_places=2)
    balance_g = models.DecimalField(_("balance after (g)"), max_digits=12, decimal_places=2)
    reference = models.CharField(_("reference"), max_length=80, blank=True, help_text=_("e.g. a prescription number"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.batch} {self.delta_g:+}"


class FormulaKind(models.TextChoices):
    CLASSICAL = "classical", _("Classical formula")
    AGREED = "agreed", _("Agreed formula of the institution")
    PERSONAL = "personal", _("My formula")


class Formula(models.Model):
    """A starting point for a prescription: a classical formula (from the shipped reference), an
    institution's agreed formula (协定方, versioned: a change makes a new version), or a
    clinician's own saved formula. `items` is a list of {herb, grams, instruction}."""

    kind = models.CharField(_("kind"), max_length=10, choices=FormulaKind.choices)
    name = models.CharField(_("name"), max_length=50)
    pinyin_initials = models.CharField(_("pinyin initials"), max_length=20, blank=True, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    institution = models.ForeignKey(
        "accounts.Institution",
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="formulas",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="formulas",
    )
    items = models.JSONField(_("herbs"))
    usage = models.CharField(_("usage"), max_length=200, blank=True)
    indications = models.CharField(_("indications"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("formula")
        verbose_name_plural = _("formulas")
        ordering = ["kind", "pinyin_initials", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], condition=Q(kind="classical"), name="classical_unique"),
            models.UniqueConstraint(
                fields=["institution", "name", "version"], condition=Q(kind="agreed"), name="agreed_version_unique"
            ),
            models.UniqueConstraint(fields=["owner", "name"], condition=Q(kind="personal"), name="personal_unique"),
        ]

    def __str__(self):
        return self.name if self.kind != FormulaKind.AGREED else f"{self.name} v{self.version}"
