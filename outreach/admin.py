"""The administrators edit the visiting-expert schedule in the admin site, where they already keep
the county's other tables (institutions, users, formulas, delivery hours). Every save goes through
outreach.services.session_save, so the overlap rule, the subtree and the dates hold here as in the
API; a session is cancelled (an action), never deleted."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.permissions import institutions_visible_to, scope_to_institutions
from accounts.roles import Role

from .models import ClinicSession
from .permissions import can_manage_sessions_at
from .services import SESSION_PLACES, session_cancel, session_save

FIELDS = ("expert", "institution", "date", "starts_at", "ends_at", "note")


class SessionForm(forms.ModelForm):
    """Saves in clean(), through the service, inside the admin's transaction: a refusal (two
    places at once, a past date, a centre outside the subtree) is the form's error, nothing saved."""

    actor = None  # set per request by SessionAdmin.get_form

    class Meta:
        model = ClinicSession
        fields = FIELDS

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.instance = session_save(
                actor=self.actor,
                session=self.instance if self.instance.pk else None,
                expert=data["expert"],
                institution=data["institution"],
                date=data["date"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                note=data.get("note", ""),
            )
        except PermissionDenied as refused:
            raise forms.ValidationError(str(refused)) from None
        except ValidationError as refused:
            # The service names its whole-session errors as the API does (non_field_errors).
            errors = refused.message_dict
            raise ValidationError(
                {NON_FIELD_ERRORS if field == "non_field_errors" else field: text for field, text in errors.items()}
            ) from None
        return data


@admin.register(ClinicSession)
class SessionAdmin(admin.ModelAdmin):
    form = SessionForm
    list_display = ("date", "starts_at", "ends_at", "institution", "expert", "cancelled_at")
    list_filter = ("date", ("cancelled_at", admin.EmptyFieldListFilter), "institution")
    date_hierarchy = "date"
    list_select_related = ("institution", "expert")
    search_fields = ("expert__name", "institution__name", "institution__code")
    actions = ["cancel_sessions"]
    readonly_fields = ("cancelled_at",)

    def get_queryset(self, request):
        return scope_to_institutions(super().get_queryset(request), request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "institution":
            kwargs["queryset"] = institutions_visible_to(request.user).filter(kind__in=SESSION_PLACES, is_active=True)
        if db_field.name == "expert":
            kwargs["queryset"] = (
                get_user_model().objects.filter(groups__name=Role.CLINICIAN, is_active=True).order_by("name")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage_sessions_at(request.user, obj.institution_id))

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted: a held session keeps its consults

    def save_model(self, request, obj, form, change):
        """Saved already, by the service in the form's clean()."""

    @admin.action(description=_("Cancel the chosen sessions"), permissions=["change"])
    def cancel_sessions(self, request, queryset):
        for session in queryset:
            session_cancel(actor=request.user, session=session)
        count = len(queryset)
        self.message_user(
            request,
            _("Sessions cancelled: %(n)d.") % {"n": count},
            messages.SUCCESS,
        )
