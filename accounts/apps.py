from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and institutions")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from . import security_log
        from .roles import sync_role_groups

        user_logged_in.connect(security_log.logged_in, dispatch_uid="accounts.log_login")
        user_logged_out.connect(security_log.logged_out, dispatch_uid="accounts.log_logout")
        user_login_failed.connect(security_log.login_failed, dispatch_uid="accounts.log_login_failed")

        # Groups and their model permissions follow the role table on every migrate. Not limited
        # to this app's signal: other apps' permissions exist only after their own post_migrate.
        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
