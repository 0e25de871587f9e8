from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """What administrators steer with: the home page, the health check, the dashboards and their
    rollups. It reads every pipeline app and is imported by none of them."""

    name = "dashboards"
    verbose_name = _("Dashboards")
