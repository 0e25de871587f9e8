from django.contrib import admin

from accounts.permissions import scope_to_institutions

from .models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("name", "sex", "date_of_birth", "mobile", "institution", "created_at")
    list_filter = ("sex", "institution")
    search_fields = ("name", "mobile", "id_number")
    autocomplete_fields = ("allergies",)
    readonly_fields = ("institution", "created_by", "created_at", "updated_at")

    def get_queryset(self, request):
        return scope_to_institutions(super().get_queryset(request).select_related("institution"), request.user)

    def has_add_permission(self, request):
        return False  # patients are registered through the clinic pages, which check the rules
