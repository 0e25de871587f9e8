from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = _("Delivery and tracking")

    def ready(self):
        from prescriptions import hooks

        from .services import on_transition

        if on_transition not in hooks.transition_listeners:
            hooks.transition_listeners.append(on_transition)
