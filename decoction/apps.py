from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecoctionConfig(AppConfig):
    name = "decoction"
    verbose_name = _("Dispensing and decoction")

    def ready(self):
        from prescriptions import hooks

        from .services import RECORDERS

        hooks.stage_recorders.update(RECORDERS)
