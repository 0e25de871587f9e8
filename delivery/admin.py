from django.contrib import admin

from .models import DeliveryHours


@admin.register(DeliveryHours)
class DeliveryHoursAdmin(admin.ModelAdmin):
    """Each delivery station's working hours: a failed delivery is rescheduled inside them."""

    list_display = ("station", "opens_at", "closes_at")
    list_select_related = ("station",)
