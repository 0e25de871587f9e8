from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and institutions")

    def ready(self):
        from .roles import sync_role_groups

        # Groups and their model permissions follow the role table on every migrate. Not limited
        # to this app's signal: other apps' permissions exist only after their own post_migrate.
        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
