from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import ClinicSession


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "08:30"})
class ClockField(serializers.TimeField):
    """A local time of day as HH:MM, in and out (the schema's `time` format would want an offset)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class ExpertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class PlaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class SessionSerializer(serializers.ModelSerializer):
    expert = ExpertSerializer()
    institution = PlaceSerializer()
    weekday = serializers.IntegerField(help_text=_("ISO weekday: 1 is Monday, 7 Sunday."))
    starts_at = ClockField()
    ends_at = ClockField()

    class Meta:
        model = ClinicSession
        fields = ["id", "expert", "institution", "date", "weekday", "starts_at", "ends_at", "note", "cancelled_at"]


class SessionInSerializer(serializers.Serializer):
    """A session to create; a PATCH sends any of these fields."""

    expert = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text=_("The visiting clinician's user id.")
    )
    institution = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text=_("The health centre's id."))
    date = serializers.DateField()
    starts_at = ClockField()
    ends_at = ClockField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SessionQuerySerializer(serializers.Serializer):
    institution = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    expert = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    # `from` is a Python keyword: the field is named in to_internal_value's answer as date_from.
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class PublicExpertSerializer(serializers.Serializer):
    name = serializers.CharField(source="__str__")
    institution = serializers.CharField(source="institution.name", default="")


class PublicSessionSerializer(serializers.Serializer):
    date = serializers.DateField()
    weekday = serializers.IntegerField(help_text=_("ISO weekday: 1 is Monday, 7 Sunday."))
    starts_at = ClockField()
    ends_at = ClockField()
    expert = PublicExpertSerializer()
    note = serializers.CharField()


class PublicCentreSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    township = serializers.CharField()


class TownshipScheduleSerializer(serializers.Serializer):
    centre = PublicCentreSerializer()
    sessions = PublicSessionSerializer(many=True)
