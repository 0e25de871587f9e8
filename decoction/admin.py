from django.contrib import admin

from .models import StationSettings


@admin.register(StationSettings)
class StationSettingsAdmin(admin.ModelAdmin):
    """The one row of station limits: changed here by a county-level administrator (the role
    table's manage_station_settings), never added beside or deleted; the list opens the row."""

    list_display = ("__str__", "weight_tolerance_pct", "soak_min_minutes", "urgent_target_minutes")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        StationSettings.current()  # the row exists before anyone opens the list
        return super().changelist_view(request, extra_context)
