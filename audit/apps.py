from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Prescription audit")

    def ready(self):
        from prescriptions import hooks

        from .services import check_draft

        if check_draft not in hooks.draft_checkers:
            hooks.draft_checkers.append(check_draft)
