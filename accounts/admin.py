from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Institution, User
from .permissions import scope_to_institutions


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "township", "phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "township")
    autocomplete_fields = ("parent",)

    def get_queryset(self, request):
        return scope_to_institutions(super().get_queryset(request).select_related("parent"), request.user, "pk")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "name", "institution", "roles", "is_active", "last_login")
    list_filter = ("groups", "is_active", "institution__kind")
    search_fields = ("username", "name", "phone", "institution__name", "institution__code")
    autocomplete_fields = ("institution",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("name", "phone", "email", "institution")}),
        (_("Roles"), {"fields": ("groups", "is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "name", "institution", "password1", "password2")}),
    )

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("institution").prefetch_related("groups"), request.user
        )

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return "、".join(group.name for group in obj.groups.all())
