from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = _("Delivery and tracking")

    def ready(self):
        # The events API dispatches station steps through this table until prescriptions calls
        # the stage services itself. Transition side effects are not registered: they are pulled
        # from the trace (services.notifications.trace_pull).
        from prescriptions import hooks

        from .services import RECORDERS

        hooks.stage_recorders.update(RECORDERS)
