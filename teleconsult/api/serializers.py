"""Shapes of the remote consult API; the rules are checked by teleconsult.services."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.ids import IdempotencyKeyField, id_field
from patients.models import AttachmentKind, Pregnancy

from ..models import ConsultEvent, RemoteConsult, RemoteConsultPhoto
from ..workflow import Status


def photo_field():
    return serializers.FileField(required=False, allow_null=True, help_text="JPEG, PNG or WebP; stored without EXIF")


class RemoteConsultInSerializer(serializers.Serializer):
    """A village doctor's request (JSON, or multipart with the photos)."""

    patient = id_field(help_text="A patient of the requesting clinic")
    chief_complaint = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    history = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    tongue = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    pulse = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    temperature_c = serializers.DecimalField(max_digits=3, decimal_places=1, required=False, allow_null=True)
    systolic_mmhg = serializers.IntegerField(min_value=0, max_value=999, required=False, allow_null=True)
    diastolic_mmhg = serializers.IntegerField(min_value=0, max_value=999, required=False, allow_null=True)
    heart_rate = serializers.IntegerField(min_value=0, max_value=999, required=False, allow_null=True)
    respiration_rate = serializers.IntegerField(min_value=0, max_value=999, required=False, allow_null=True)
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, required=False, allow_null=True)
    pregnancy = serializers.ChoiceField(choices=Pregnancy.choices, required=False, default=Pregnancy.UNKNOWN)
    routed_institution = id_field(required=False, allow_null=True, help_text="A hospital above the clinic")
    routed_expert = id_field(required=False, allow_null=True, help_text="A named expert of such a hospital")
    tongue_photo = photo_field()
    face_photo = photo_field()
    other_photo = photo_field()
    idempotency_key = IdempotencyKeyField()


class ConsultPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class ConsultPlaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = RemoteConsultPhoto
        fields = ["id", "kind", "url", "created_at"]

    def get_url(self, photo) -> str:
        return reverse("api:remote-consult-photo", args=[photo.consult_id, photo.pk])


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsultEvent
        fields = ["seq", "step", "actor_name", "at", "text", "data"]


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "status": {"type": "string"},
            "tracking_url": {"type": "string", "nullable": True},
        },
    }
)
class PrescriptionField(serializers.Field):
    def to_representation(self, prescription):
        return {
            "id": prescription.pk,
            "number": prescription.display_number,
            "status": prescription.status,
            "tracking_url": prescription.tracking_url,
        }


class RemoteConsultSerializer(serializers.ModelSerializer):
    patient = ConsultPersonSerializer()
    institution = ConsultPlaceSerializer()
    requested_by = ConsultPersonSerializer()
    routed_institution = ConsultPlaceSerializer()
    routed_expert = ConsultPersonSerializer(allow_null=True)
    claimed_by = ConsultPersonSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=Status.choices)
    prescription = PrescriptionField(
        source="current_prescription", allow_null=True, help_text="Its newest version, if it was revised"
    )

    class Meta:
        model = RemoteConsult
        fields = [
            "id",
            "status",
            "patient",
            "institution",
            "requested_by",
            "routed_institution",
            "routed_expert",
            "claimed_by",
            "claimed_at",
            "chief_complaint",
            "history",
            "tongue",
            "pulse",
            "temperature_c",
            "systolic_mmhg",
            "diastolic_mmhg",
            "heart_rate",
            "respiration_rate",
            "weight_kg",
            "pregnancy",
            "advice",
            "prescription",
            "created_at",
        ]


class RemoteConsultDetailSerializer(RemoteConsultSerializer):
    photos = PhotoSerializer(many=True)
    events = EventSerializer(many=True)

    class Meta(RemoteConsultSerializer.Meta):
        fields = [*RemoteConsultSerializer.Meta.fields, "photos", "events"]


class QuestionSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=1000)


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=1000)
    tongue_photo = photo_field()
    face_photo = photo_field()
    other_photo = photo_field()


class AdviceSerializer(serializers.Serializer):
    advice = serializers.CharField(max_length=1000)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class PhotoInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AttachmentKind.choices)
    image = serializers.FileField(help_text="JPEG, PNG or WebP; stored without EXIF")
