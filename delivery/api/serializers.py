"""What the courier's app sends and reads. Shapes only: the rules are delivery.services'."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import TextField, UploadField
from core.ids import IdempotencyKeyField, id_field
from prescriptions.models import Prescription
from prescriptions.workflow import Stage

from ..models import DeliveryRun, DeliveryStop
from ..permissions import can_see_contact


class WaitingSerializer(serializers.ModelSerializer):
    """A packaged prescription waiting for a run: the number and the masked name only."""

    number = TextField(source="display_number")
    patient = TextField(source="patient.masked_name")
    township = TextField(source="patient.township")

    class Meta:
        model = Prescription
        fields = ["id", "number", "urgent", "patient", "township", "updated_at"]


class ContactSerializer(serializers.Serializer):
    name = TextField()
    mobile = TextField()
    address = TextField()


class StopSerializer(serializers.ModelSerializer):
    prescription = serializers.IntegerField(source="prescription_id")
    number = TextField(source="prescription.display_number")
    prescription_status = TextField(source="prescription.status")
    patient = TextField(source="prescription.patient.masked_name")
    contact = serializers.SerializerMethodField(
        help_text="The patient's name, mobile and address: only on the caller's own open run"
    )

    class Meta:
        model = DeliveryStop
        fields = [
            "id",
            "position",
            "prescription",
            "number",
            "prescription_status",
            "patient",
            "status",
            "expected_at",
            "receiver_name",
            "failure_reason",
            "contact",
        ]

    @extend_schema_field(ContactSerializer(allow_null=True))
    def get_contact(self, stop) -> dict | None:
        if not can_see_contact(self.context["request"].user, stop.run):
            return None
        prescription = stop.prescription
        return {
            "name": prescription.patient.name,
            "mobile": prescription.patient.mobile,
            "address": prescription.delivery_address,
        }


class RunSerializer(serializers.ModelSerializer):
    courier = serializers.StringRelatedField()
    stops = StopSerializer(many=True)

    class Meta:
        model = DeliveryRun
        fields = ["id", "area", "courier", "is_open", "created_at", "closed_at", "stops"]


class RunCreateSerializer(serializers.Serializer):
    prescriptions = serializers.ListField(child=id_field(), max_length=100, help_text="Packaged prescriptions' ids")
    area = TextField(max_length=50, required=False, allow_blank=True, default="")


class StopsAddSerializer(serializers.Serializer):
    prescriptions = serializers.ListField(child=id_field(), max_length=100, help_text="Packaged prescriptions' ids")


class StopStepSerializer(serializers.Serializer):
    """`shipped`: set off (the trace's `shipped`); `delivered`: with the receiver and an optional
    photo (multipart); `failed`: not delivered, with the reason (the prescription stays
    `shipped`, the stop is rescheduled)."""

    action = serializers.ChoiceField(choices=[Stage.SHIPPED, Stage.DELIVERED, "failed"])
    receiver_name = TextField(required=False, help_text="For `delivered`: who took it (50 characters kept)")
    photo = UploadField(required=False, help_text="For `delivered`, optional (multipart): JPEG, PNG or WebP")
    reason = TextField(required=False, help_text="For `failed`: why not (200 characters kept)")
    idempotency_key = IdempotencyKeyField()


class StopStepJsonSerializer(StopStepSerializer):
    """The same sent as JSON: a photo travels only in a multipart body."""

    photo = None
