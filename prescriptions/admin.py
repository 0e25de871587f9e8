from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.permissions import scope_to_institutions
from core.timefmt import duration_text, local_text, milliseconds_text

from .models import Prescription, PrescriptionItem, StuckFlag


def refused(self, request, obj=None):
    return False


class ReadOnly:
    """Rows written by the pipeline's services only: the admin shows them, never adds, changes
    or deletes them."""

    has_add_permission = has_change_permission = has_delete_permission = refused


@admin.register(StuckFlag)
class StuckFlagAdmin(ReadOnly, admin.ModelAdmin):
    """Prescriptions past a stage's time limit (set by STAGE_TIME_LIMITS), newest problems first."""

    list_display = ("prescription", "stage", "since", "limit", "flagged_at", "resolved_at")
    list_filter = ("stage", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("prescription__number",)

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("prescription"), request.user, "prescription__institution"
        )

    @admin.display(description=_("limit"), ordering="limit_minutes")
    def limit(self, obj):
        return duration_text(obj.limit_minutes * 60)


class ItemInline(ReadOnly, admin.TabularInline):
    model = PrescriptionItem
    fields = ("position", "written_name", "herb", "grams", "instruction", "unit_price")
    extra = 0


@admin.register(Prescription)
class PrescriptionAdmin(ReadOnly, admin.ModelAdmin):
    """Prescriptions of the administrator's subtree, read-only: every change goes through the
    workflow's services (the pages and the API)."""

    list_display = ("__str__", "status", "risk_level", "patient", "prescriber", "institution", "urgent", "created_at")
    list_filter = ("status", "risk_level", "urgent", "decoction", "delivery")
    search_fields = ("number", "patient__name", "prescriber__name")
    date_hierarchy = "created_at"
    list_select_related = ("patient", "prescriber", "institution")
    inlines = [ItemInline]
    exclude = ("double_signature", "precheck_duration_ms", "idempotency_key", "tracking_token")
    readonly_fields = ("signature", "check_duration")

    def get_queryset(self, request):
        return scope_to_institutions(super().get_queryset(request), request.user)

    @admin.display(description=_("double signature"))
    def signature(self, obj):
        signature = obj.double_signature or {}
        if not signature:
            return "—"
        return f"{signature.get('signed_by_name', '')} · {local_text(signature.get('signed_at'))}"

    @admin.display(description=_("check duration at submit"))
    def check_duration(self, obj):
        return milliseconds_text(obj.precheck_duration_ms)
