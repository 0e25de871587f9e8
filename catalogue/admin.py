from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import can_see_institution, has_capability, institutions_visible_to, scope_to_institutions

from .formulas import formula_save_agreed
from .models import (
    BareName,
    Formula,
    FormulaKind,
    Herb,
    HerbAlias,
    IncompatibilityRule,
    PregnancyCaution,
    StockBatch,
    StockMovement,
    ToxicListEntry,
)
from .services import herb_save


class HerbAliasInline(admin.TabularInline):
    model = HerbAlias
    extra = 0
    fields = ("alias", "kind", "basis", "notes")


@admin.register(Herb)
class HerbAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "pinyin",
        "initials",
        "base_herb",
        "dose_range",
        "toxicity",
        "special_decoction",
        "pregnancy",
        "price_per_g",
        "active",
        "confidence",
        "verified_by_pharmacist",
        "short_source",
    )
    list_filter = (
        "active",
        "confidence",
        "verified_by_pharmacist",
        "toxicity",
        "special_decoction",
        "pregnancy",
        "in_pharmacopoeia",
        "external_only",
        "decoction_use",
        "child_forbidden",
        "category",
    )
    search_fields = ("name", "pinyin_compact", "initials", "base_herb", "aliases__alias")
    list_per_page = 100
    list_max_show_all = 2000
    readonly_fields = ("pinyin_compact", "verified_by", "verified_at", "updated_at")
    inlines = [HerbAliasInline]
    actions = ["mark_verified"]
    fieldsets = (
        (None, {"fields": ("name", "pinyin", "pinyin_compact", "initials", "base_herb", "category")}),
        (
            _("Use"),
            {
                "fields": (
                    "dose_min_g",
                    "dose_max_g",
                    "toxicity",
                    "special_decoction",
                    "pregnancy",
                    "external_only",
                    "incompatible_with",
                    "in_pharmacopoeia",
                )
            },
        ),
        (
            _("Rule data"),
            {
                "fields": (
                    "monograph",
                    "child_forbidden",
                    "decoction_use",
                    "decoction_method_conditional",
                    "method_also_accepted",
                    "dose_basis",
                    "drastic_purgative",
                    "aconite_alkaloid",
                    "inactive_reason",
                    "rule_source",
                    "pharmacopoeia_excerpt",
                )
            },
        ),
        (_("Pharmacy"), {"fields": ("price_per_g", "active")}),
        (
            _("Provenance"),
            {
                "fields": (
                    "source",
                    "confidence",
                    "notes",
                    "verified_by_pharmacist",
                    "verified_by",
                    "verified_at",
                    "updated_at",
                )
            },
        ),
    )

    @admin.display(description=_("dose (g)"))
    def dose_range(self, obj):
        if obj.dose_min_g is None:
            return "—"
        return f"{obj.dose_min_g.normalize():f}～{obj.dose_max_g.normalize():f}"

    @admin.display(description=_("source"))
    def short_source(self, obj):
        return obj.source if len(obj.source) <= 40 else obj.source[:40] + "…"

    def save_model(self, request, obj, form, change):
        herb_save(herb=obj, actor=request.user)

    @admin.action(description=_("Mark selected herbs as verified by a pharmacist"))
    def mark_verified(self, request, queryset):
        count = queryset.filter(verified_by_pharmacist=False).update(
            verified_by_pharmacist=True, verified_by=request.user, verified_at=timezone.now()
        )
        self.message_user(request, _("%(count)d herbs marked verified.") % {"count": count}, messages.SUCCESS)


@admin.register(HerbAlias)
class HerbAliasAdmin(admin.ModelAdmin):
    list_display = ("alias", "herb", "kind", "basis")
    list_filter = ("kind",)
    search_fields = ("alias", "herb__name")
    autocomplete_fields = ("herb",)
    readonly_fields = ("pinyin_compact", "initials")

    def save_model(self, request, obj, form, change):
        from .pinyin import compact, guess_pinyin, initials_of

        pinyin = guess_pinyin(obj.alias)
        obj.pinyin_compact, obj.initials = compact(pinyin), initials_of(pinyin)
        super().save_model(request, obj, form, change)


@admin.register(BareName)
class BareNameAdmin(admin.ModelAdmin):
    """Used only when TCM_BARE_NAME_POLICY is "processed"; a change reaches the audit with the next
    published rule version, and the submit at once."""

    list_display = ("written", "herb", "basis")
    search_fields = ("written", "herb__name")
    autocomplete_fields = ("herb",)


class StockReadOnlyAdmin(admin.ModelAdmin):
    """Stock changes only through the stock services, each with a movement row."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RuleListAdmin(admin.ModelAdmin):
    """Reference rule lists: a county-level administrator may correct them here (the role table's
    manage_catalogue, through the model permissions); `import_catalogue` resets them to the
    shipped files. Changes reach the audit when a new rule version is published."""


@admin.register(IncompatibilityRule)
class IncompatibilityRuleAdmin(RuleListAdmin):
    list_display = ("kind", "names_a", "names_b")
    list_filter = ("kind",)
    filter_horizontal = ("group_a", "group_b")
    search_fields = ("names_a", "names_b")


@admin.register(ToxicListEntry)
class ToxicListEntryAdmin(RuleListAdmin):
    list_display = ("name", "herb", "notes")
    search_fields = ("name", "herb__name")
    autocomplete_fields = ("herb",)


@admin.register(PregnancyCaution)
class PregnancyCautionAdmin(RuleListAdmin):
    list_display = ("herb", "level", "from_pharmacopoeia", "confidence")
    list_filter = ("level", "from_pharmacopoeia", "confidence")
    search_fields = ("herb__name",)
    autocomplete_fields = ("herb",)


@admin.register(StockBatch)
class StockBatchAdmin(StockReadOnlyAdmin):
    list_display = ("herb", "batch_no", "expiry_date", "quantity_g", "pharmacy")
    list_filter = ("pharmacy", "expiry_date")
    search_fields = ("herb__name", "herb__initials", "batch_no")

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("herb", "pharmacy"), request.user, "pharmacy"
        )


@admin.register(StockMovement)
class StockMovementAdmin(StockReadOnlyAdmin):
    list_display = ("created_at", "batch", "kind", "delta_g", "balance_g", "reference", "actor")
    list_filter = ("kind",)
    search_fields = ("batch__herb__name", "batch__batch_no", "reference")

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("batch__herb", "actor")
        return scope_to_institutions(qs, request.user, "batch__pharmacy")


@admin.register(Formula)
class FormulaAdmin(admin.ModelAdmin):
    """Agreed formulas (协定方) are versioned: saving a change publishes a new version."""

    list_display = ("name", "kind", "version", "institution", "owner", "active")
    list_filter = ("kind", "active", "institution")
    search_fields = ("name", "pinyin_initials")
    readonly_fields = ("version", "created_by", "created_at")
    fields = (
        "kind",
        "name",
        "institution",
        "items",
        "usage",
        "indications",
        "source",
        "active",
        "version",
        "created_by",
        "created_at",
    )

    def save_model(self, request, obj, form, change):
        if obj.kind == FormulaKind.AGREED and obj.institution_id:
            saved = formula_save_agreed(
                actor=request.user,
                institution=obj.institution,
                name=obj.name,
                items=obj.items,
                usage=obj.usage,
                indications=obj.indications,
            )
            obj.pk = saved.pk  # the admin redirects to the new version
        else:
            super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(kind=FormulaKind.PERSONAL)

    def has_change_permission(self, request, obj=None):
        """A classical formula is county-wide (manage_catalogue); an agreed one its institution's,
        for the administrators whose subtree holds it (manage_agreed_formulas)."""
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or has_capability(request.user, "manage_catalogue"):
            return True
        return obj.kind == FormulaKind.AGREED and can_see_institution(request.user, obj.institution_id)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not has_capability(request.user, "manage_catalogue"):
            agreed_only(form, request.user)
        return form


def agreed_only(form, user) -> None:
    """The formula form of an administrator below the county level: an agreed formula of an
    institution of their subtree, nothing else."""
    if "kind" in form.base_fields:
        form.base_fields["kind"].choices = [(FormulaKind.AGREED, FormulaKind.AGREED.label)]
    if "institution" in form.base_fields:
        form.base_fields["institution"].queryset = institutions_visible_to(user)
        form.base_fields["institution"].required = True
