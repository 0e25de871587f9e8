from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    """The pipeline's composition, read in one place: which app records each station step
    (`steps.STEPS`), the events API that dispatches through that table, and the task that lets
    each app pull its side effects from the trace after a transition commits."""

    name = "pipeline"
    verbose_name = _("Pipeline")
