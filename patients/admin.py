from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.permissions import scope_to_institutions

from .models import Patient, PatientChange
from .selectors import shown


class PatientChangeInline(admin.TabularInline):
    """The patient's history, read-only, on the patient's page: shown wherever the patient is
    (the patient admin's queryset is the administrator's subtree), nowhere else."""

    model = PatientChange
    fields = readonly_fields = ("changed_at", "changed_by", "summary")
    extra = 0
    can_delete = False

    @admin.display(description=_("changes"))
    def summary(self, change):
        return "; ".join(
            f"{Patient._meta.get_field(key).verbose_name}: {shown(key, old) or '—'} → {shown(key, new) or '—'}"
            for key, (old, new) in change.changes.items()
        )

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("patients.view_patient")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    """Read-only: a patient is changed on the clinic's patient page (administrators hold
    `manage_patients`), whose service checks the ID number and mobile and writes the history."""

    list_display = ("name", "sex", "date_of_birth", "mobile", "institution", "created_at")
    list_filter = ("sex", "institution")
    search_fields = ("name", "mobile", "id_number")
    inlines = [PatientChangeInline]

    def get_queryset(self, request):
        return scope_to_institutions(super().get_queryset(request).select_related("institution"), request.user)

    def has_add_permission(self, request):
        return False  # patients are registered through the clinic pages, which check the rules

    def has_change_permission(self, request, obj=None):
        return False
