from django.contrib import admin

from accounts.permissions import scope_to_institutions

from .models import StuckFlag


@admin.register(StuckFlag)
class StuckFlagAdmin(admin.ModelAdmin):
    """Prescriptions past a stage's time limit (set by STAGE_TIME_LIMITS), newest problems first."""

    list_display = ("prescription", "stage", "since", "limit_minutes", "flagged_at", "resolved_at")
    list_filter = ("stage", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("prescription__number",)

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("prescription"), request.user, "prescription__institution"
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
