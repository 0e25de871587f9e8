from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.permissions import has_capability, scope_to_institutions
from core.timefmt import milliseconds_text
from prescriptions.models import RiskLevel
from rules.models import RuleVersion, RuleVersionStatus
from rules.services import rule_version_create, rule_version_publish, rule_version_whatif

from .models import AuditDecision, AuditRun
from .services import recent_drafts

WHATIF_DAYS = 30


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    """Rules change safely: freeze the edited tables into a draft, replay it over the last 30 days,
    then publish it. Registered here, not in rules/admin.py: the replay reads past prescriptions,
    which only a floor above `prescriptions` may do."""

    list_display = ("number", "status", "note", "created_by", "created_at", "published_at")
    list_filter = ("status",)
    readonly_fields = ("number", "status", "created_by", "created_at", "published_at")
    exclude = ("data",)
    actions = ["whatif", "publish"]
    change_list_template = "admin/audit/ruleversion/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and "create_draft" in request.POST:
            if has_capability(request.user, "manage_catalogue"):
                version = rule_version_create(actor=request.user, note=request.POST.get("note", "")[:200])
                self.message_user(request, _("Draft v%(n)d created from the current tables.") % {"n": version.number})
            else:
                self.message_user(request, _("You cannot change rules."), messages.ERROR)
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("What if: replay over the last 30 days"))
    def whatif(self, request, queryset):
        version = queryset.order_by("-number").first()
        report = rule_version_whatif(version=version, days=WHATIF_DAYS, drafts=recent_drafts(days=WHATIF_DAYS))
        return render(
            request,
            "admin/audit/ruleversion/whatif.html",
            {
                **self.admin_site.each_context(request),
                "report": report,
                "version": version,
                "title": _("What if v%(n)d went live") % {"n": version.number},
            },
        )

    @admin.action(description=_("Publish (make live)"), permissions=["change"])
    def publish(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one version to publish."), messages.ERROR)
            return
        version = queryset.get()
        if version.status == RuleVersionStatus.LIVE:
            self.message_user(request, _("This version is already live."), messages.WARNING)
            return
        rule_version_publish(version=version, actor=request.user)
        self.message_user(request, _("v%(n)d is live.") % {"n": version.number})


def risk_label(code: str) -> str:
    """The Chinese name of a risk level code; the code itself for one no longer known."""
    return RiskLevel(code).label if code in RiskLevel.values else code


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RiskFilter(admin.SimpleListFilter):
    """The risk levels by their names (the run keeps the code)."""

    title = _("risk")
    parameter_name = "risk_level"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label in RiskLevel.choices if value]

    def queryset(self, request, queryset):
        return queryset.filter(risk_level=self.value()) if self.value() else queryset


@admin.register(AuditRun)
class AuditRunAdmin(ReadOnly):
    list_display = (
        "prescription",
        "risk",
        "rule_version",
        "engine_version",
        "duration",
        "routed_to",
        "created_at",
    )
    list_filter = (RiskFilter, "rule_version")
    exclude = ("duration_ms",)
    readonly_fields = ("risk", "duration")
    search_fields = ("prescription__number",)

    @admin.display(description=_("risk"), ordering="risk_level")
    def risk(self, obj):
        return risk_label(obj.risk_level)

    @admin.display(description=_("duration"), ordering="duration_ms")
    def duration(self, obj):
        return milliseconds_text(obj.duration_ms)

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("prescription", "routed_to"),
            request.user,
            "prescription__institution",
        )


@admin.register(AuditDecision)
class AuditDecisionAdmin(ReadOnly):
    list_display = ("prescription", "decision", "pharmacist", "created_at")
    list_filter = ("decision",)
    search_fields = ("prescription__number", "pharmacist__name")

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("prescription", "pharmacist"),
            request.user,
            "prescription__institution",
        )
