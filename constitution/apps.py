from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConstitutionConfig(AppConfig):
    name = "constitution"
    verbose_name = _("Constitution identification")
