from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecoctionConfig(AppConfig):
    name = "decoction"
    verbose_name = _("Dispensing and decoction")
