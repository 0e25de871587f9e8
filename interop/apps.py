from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteropConfig(AppConfig):
    """Standard doors for the townships' hospital systems (HIS): a FHIR R4 read of what happened
    to a prescription (`interop.fhir`) and a CDS Hooks order check that runs the platform's own
    audit engine on a draft order (`interop.cds`). It reads every app, so it sits on the top
    floor beside `pipeline` and `dashboards`; nothing imports it."""

    name = "interop"
    verbose_name = _("Interoperability")
