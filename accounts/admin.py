from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from . import security_log
from .models import ApiToken, Institution, User
from .permissions import (
    api_tokens_visible_to,
    can_manage_institution,
    can_manage_user,
    can_revoke_token,
    institutions_visible_to,
    may_place_institution,
    may_place_user,
    roles_grantable_by,
    scope_to_institutions,
)
from .roles import Role, role_label
from .services import api_token_revoke, user_set_roles


class ScopedInstitutionChoices:
    """An administrator may only pick institutions in their own subtree."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("institution", "parent"):
            kwargs["queryset"] = institutions_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Institution)
class InstitutionAdmin(ScopedInstitutionChoices, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "township", "phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "township")
    autocomplete_fields = ("parent",)

    def get_queryset(self, request):
        return scope_to_institutions(super().get_queryset(request).select_related("parent"), request.user, "pk")

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage_institution(request.user, obj))

    def get_form(self, request, obj=None, change=False, **kwargs):
        return placed_institution_form(super().get_form(request, obj, change=change, **kwargs), request.user)


def placed_institution_form(form_class, actor):
    """`form_class` as `actor` may save it: a non-superuser must hang the institution below one of
    their subtree (may_place_institution); a refused save is a form error, nothing is written."""

    class PlacedInstitutionForm(form_class):
        def clean(self):
            cleaned = super().clean()
            if "parent" in self.fields and not self.has_error("parent"):
                parent = cleaned.get("parent")
                if not may_place_institution(actor, parent_id=parent.pk if parent else None):
                    self.add_error("parent", _("Choose a parent institution within your own."))
            return cleaned

    return PlacedInstitutionForm


def placed_user_form(form_class, actor):
    """`form_class` (the admin's add or change form) as `actor` may save it: a non-superuser
    must place the user at an institution (the choices are their subtree), and no save may leave
    the user beyond what `actor` may manage (may_place_user: an administrator only below the
    actor's own institution). A refused save is a form error; nothing is written."""

    class PlacedUserForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not actor.is_superuser and "institution" in self.fields:
                self.fields["institution"].required = True

        def clean(self):
            cleaned = super().clean()
            if self.has_error("institution") or self.has_error("groups"):
                return cleaned
            groups = cleaned.get("groups")
            roles = {group.name for group in groups} if groups is not None else set(self.instance.role_codes)
            institution = cleaned.get("institution")
            if not may_place_user(actor, institution_id=institution.pk if institution else None, roles=roles):
                self.add_error(
                    "institution",
                    _("An administrator you appoint must belong to an institution below your own."),
                )
            return cleaned

    return PlacedUserForm


def changed_fields(message) -> list[str]:
    """The fields named in an admin change message: English labels ("Groups"), "password" for a password set."""
    return [name for part in message or () for name in part.get("changed", {}).get("fields", ())]


class SecurityLogged:
    """Adding, changing and deleting users and role groups also go to the security log, with who
    did it and, for a user, their roles after the change (a password set is its own line)."""

    def _logged(self, request, action, obj, fields=()):
        roles = sorted(group.name for group in obj.groups.all()) if isinstance(obj, User) else None
        name = obj.get_username() if isinstance(obj, User) else str(obj)
        kind = "user" if isinstance(obj, User) else "group"
        security_log.admin_changed(request=request, action=action, kind=kind, name=name, fields=fields, roles=roles)

    def log_addition(self, request, obj, message):
        self._logged(request, "added", obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        fields = [name for name in changed_fields(message) if name != "password"]
        if fields:
            self._logged(request, "changed", obj, fields)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._logged(request, "deleted", obj)
        return super().log_deletions(request, queryset)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(SecurityLogged, GroupAdmin):
    list_display = ("role", "name")

    @admin.display(description=_("role"), ordering="name")
    def role(self, obj):
        return role_label(obj.name)


class RoleFilter(admin.SimpleListFilter):
    """The users by role, named as people read them."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(role.value, role.label) for role in Role]

    def queryset(self, request, queryset):
        return queryset.filter(groups__name=self.value()) if self.value() else queryset


@admin.register(User)
class UserAdmin(SecurityLogged, ScopedInstitutionChoices, BaseUserAdmin):
    list_display = ("username", "name", "institution", "roles", "is_active", "last_login")
    list_filter = (RoleFilter, "is_active", "institution__kind")
    search_fields = ("username", "name", "phone", "institution__name", "institution__code")
    autocomplete_fields = ("institution",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("name", "phone", "email", "institution")}),
        (_("Roles"), {"fields": ("groups", "is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
        (_("API tokens"), {"fields": ("api_tokens",)}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "name", "institution", "password1", "password2")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Only a superuser may make superusers; staff status follows the roles (user_set_roles).
        if request.user.is_superuser:
            return ("is_staff", "last_login", "date_joined", "api_tokens")
        return ("is_staff", "is_superuser", "last_login", "date_joined", "api_tokens")

    def get_form(self, request, obj=None, **kwargs):
        return placed_user_form(super().get_form(request, obj, **kwargs), request.user)

    def has_change_permission(self, request, obj=None):
        # The password page and every save ask this too (can_manage_user): nobody changes their
        # own account here, only a superuser a superuser, nobody a user outside their subtree,
        # and an administrator only below their own institution.
        return super().has_change_permission(request, obj) and (obj is None or can_manage_user(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or can_manage_user(request.user, obj))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["queryset"] = roles_grantable_by(request.user)
            field = super().formfield_for_manytomany(db_field, request, **kwargs)
            field.label_from_instance = lambda group: role_label(group.name)
            return field
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def log_addition(self, request, obj, message):
        security_log.password_changed(user=obj, actor=request.user, request=request)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if "password" in changed_fields(message):
            security_log.password_changed(user=obj, actor=request.user, request=request)
        return super().log_change(request, obj, message)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        user_set_roles(user=user, roles=[group.name for group in user.groups.all() if group.name in Role.values])

    def get_queryset(self, request):
        return scope_to_institutions(
            super().get_queryset(request).select_related("institution").prefetch_related("groups"), request.user
        )

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return "、".join(role_label(group.name) for group in obj.groups.all())

    @admin.display(description=_("API tokens"))
    def api_tokens(self, obj):
        """The user's tokens (never a secret) and the page that revokes them."""
        if obj is None or obj.pk is None:
            return "-"
        now = timezone.now()
        rows = format_html_join(
            "",
            "<li>{} · {} · {}</li>",
            ((token, token_state(token, now), token.expires.date()) for token in obj.api_tokens.all()),
        )
        link = format_html(
            '<a href="{}?user={}">{}</a>', reverse("admin:accounts_apitoken_changelist"), obj.pk, _("Tokens page")
        )
        return format_html("<ul>{}</ul>{}", rows, link) if rows else format_html("{} {}", _("None."), link)


def token_state(token: ApiToken, now) -> str:
    if token.revoked is not None:
        return _("revoked: %(why)s") % {"why": token.get_revoked_why_display()}
    return _("valid") if token.usable_at(now) else _("expired")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """The users' API tokens, as the users' admin pages scope them. Issued only through the token
    endpoint (which shows the secret once); never edited or deleted here: an administrator
    revokes the tokens of the users they manage, and the revoked row stays as the record."""

    list_display = ("name", "user", "prefix", "created", "last_used", "expires", "state")
    list_select_related = ("user", "revoked_by")
    search_fields = ("name", "prefix", "user__username", "user__name")
    readonly_fields = list_display[:-1] + ("state", "revoked", "revoked_why", "revoked_by")
    fields = readonly_fields
    actions = ["revoke_tokens"]

    def get_queryset(self, request):
        return api_tokens_visible_to(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The only change is revoking; a token of a user beyond the actor's reach is view-only.
        return super().has_change_permission(request, obj) and (obj is None or can_revoke_token(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("state"))
    def state(self, obj):
        return token_state(obj, timezone.now())

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = refused = 0
        for token in queryset:
            try:
                if api_token_revoke(token=token, actor=request.user):
                    revoked += 1
                    self.log_change(request, token, [{"changed": {"fields": ["revoked"]}}])
                    security_log.admin_changed(
                        request=request, action="revoked", kind="token", name=f"{token.user.username} {token.prefix}"
                    )
            except PermissionDenied:
                refused += 1
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked}, messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                _("%(count)d tokens were left alone: their users are not yours to manage.") % {"count": refused},
                messages.WARNING,
            )
