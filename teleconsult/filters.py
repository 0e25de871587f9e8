"""The remote consult list's filter (`?status=`): it narrows what
teleconsult.permissions.remote_consults_visible_to lets the user see, never widens it."""

import django_filters

from .models import RemoteConsult
from .workflow import Status


class RemoteConsultFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices, help_text="The consult's current status.")

    class Meta:
        model = RemoteConsult
        fields = ["status"]
