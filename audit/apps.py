from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Prescription audit")

    def ready(self):
        from prescriptions import hooks

        from .tasks import enqueue_pre_audit

        if enqueue_pre_audit not in hooks.submitted_listeners:
            hooks.submitted_listeners.append(enqueue_pre_audit)
