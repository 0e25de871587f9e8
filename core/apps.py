from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The ground floor: what every app uses (API conventions, ids, images, cache, plain SQL,
    token authentication, middleware) and the worker heartbeat. It imports no app of the project.
    The label stays `platform`, the app this started as, so its table and migrations keep their names."""

    name = "core"
    label = "platform"
    verbose_name = _("Platform")
