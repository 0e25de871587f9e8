from axes import apps as axes_apps
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True  # the app's config; AdminConfig below is named in INSTALLED_APPS by itself
    name = "accounts"
    verbose_name = _("Accounts and institutions")

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from . import security_log
        from .roles import sync_role_groups
        from .sessions import signed_in

        user_logged_in.connect(security_log.logged_in, dispatch_uid="accounts.log_login")
        user_logged_in.connect(signed_in, dispatch_uid="accounts.session_signed_in")
        user_logged_out.connect(security_log.logged_out, dispatch_uid="accounts.log_logout")
        user_login_failed.connect(security_log.login_failed, dispatch_uid="accounts.log_login_failed")
        user_locked_out.connect(security_log.locked_out, dispatch_uid="accounts.log_locked_out")

        # Groups and their model permissions follow the role table on every migrate. Not limited
        # to this app's signal: other apps' permissions exist only after their own post_migrate.
        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin with the site of accounts.admin_site (its own password page is logged)."""

    default = False
    default_site = "accounts.admin_site.AdminSite"


class AxesConfig(axes_apps.AppConfig):
    """django-axes (the sign-in lockout) under a name the admin shows in the user's language;
    its model and field names are translated in our catalogue (accounts.axes_names)."""

    default = False
    verbose_name = _("Sign-in lockout")
