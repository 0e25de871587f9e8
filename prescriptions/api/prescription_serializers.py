from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import CheaplyCopiedSerializer
from core.ids import IdempotencyKeyField, WholeNumberField, id_field, parse_id
from patients.models import ConsultMode, Pregnancy, Sex

from ..models import Prescription
from ..services.prescriptions import CONSULT_FIELDS
from ..workflow import Decoction, DeliveryMode


class ItemInSerializer(CheaplyCopiedSerializer):
    herb = serializers.CharField(max_length=20)
    grams = serializers.DecimalField(max_digits=9, decimal_places=3)
    instruction = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


@extend_schema_field(ItemInSerializer(many=True))
class ItemsField(serializers.ListField):
    """The herb rows as objects, in the shape of ItemInSerializer. The submit service checks each
    row (catalogue, grams, instruction) and reports at `items[3].grams`, so the rows are not
    validated twice."""

    child = serializers.DictField()


class InlinePatientSerializer(CheaplyCopiedSerializer):
    name = serializers.CharField(max_length=50)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    mobile = serializers.CharField(max_length=20)
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    township = serializers.CharField(max_length=50, required=False, allow_blank=True)
    allergies = serializers.ListField(child=serializers.CharField(max_length=20), required=False)


class ConsultSerializer(CheaplyCopiedSerializer):
    mode = serializers.ChoiceField(choices=ConsultMode.choices, required=False)
    chief_complaint = serializers.CharField(max_length=200, required=False, allow_blank=True)
    present_illness = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    tongue = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pulse = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tcm_disease = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tcm_syndrome = serializers.CharField(max_length=100, required=False, allow_blank=True)
    western_icd10 = serializers.RegexField(
        r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$", max_length=10, required=False, allow_blank=True
    )
    western_diagnosis = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pregnancy = serializers.ChoiceField(choices=Pregnancy.choices, required=False)
    weight_kg = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        required=False,
        allow_null=True,
        min_value=Decimal("0.5"),
        max_value=Decimal(300),
    )


class DoubleSignatureSerializer(CheaplyCopiedSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    reasons = serializers.DictField(child=serializers.CharField(max_length=300), required=False, default=dict)


class PrescriptionInSerializer(CheaplyCopiedSerializer):
    """Shapes and types; the rules are checked by prescriptions.services."""

    patient = serializers.JSONField(help_text="A patient id, or the fields of a new patient")
    consult = ConsultSerializer(required=False, default=dict)
    items = ItemsField(allow_empty=True)
    doses = WholeNumberField()
    usage = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    decoction = serializers.ChoiceField(choices=Decoction.choices, default=Decoction.CENTER)
    delivery = serializers.ChoiceField(choices=DeliveryMode.choices, default=DeliveryMode.ADDRESS)
    delivery_address = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    notes = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
    urgent = serializers.BooleanField(required=False, default=False)
    formula = id_field(required=False, allow_null=True, help_text="The formula it started from")
    double_signature = DoubleSignatureSerializer(required=False, allow_null=True)
    idempotency_key = IdempotencyKeyField()

    def validate_patient(self, value):
        if isinstance(value, bool):
            raise serializers.ValidationError("Give a patient id or the fields of a new patient.")
        if isinstance(value, int):
            if parse_id(value) is None:
                raise serializers.ValidationError("No such patient.")
            return value
        if isinstance(value, dict):
            serializer = InlinePatientSerializer(data=value)
            serializer.is_valid(raise_exception=True)
            return serializer.validated_data
        raise serializers.ValidationError("Give a patient id or the fields of a new patient.")


class PrecheckPatientSerializer(serializers.Serializer):
    """The clinical facts of a patient who need not be registered: no name, no mobile."""

    sex = serializers.ChoiceField(choices=Sex.choices)
    age_years = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        max_value=Decimal(130),
        help_text="Age in years (0–130); or give date_of_birth",
    )
    date_of_birth = serializers.DateField(required=False, allow_null=True)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "A registered patient id the caller may see"},
            {
                "type": "object",
                "description": "The clinical facts only: sex, and age_years or date_of_birth",
                "properties": {
                    "sex": {"type": "string", "enum": ["M", "F"]},
                    "age_years": {"type": "number", "minimum": 0, "maximum": 130},
                    "date_of_birth": {"type": "string", "format": "date"},
                },
                "required": ["sex"],
            },
        ]
    }
)
class PrecheckPatientField(serializers.JSONField):
    """A registered patient id, or the facts of PrecheckPatientSerializer."""


class PrecheckSerializer(serializers.Serializer):
    """Is this draft safe? Findings and price, nothing saved. The patient is a registered patient
    id the caller may see, or only the clinical facts {sex, age_years or date_of_birth}; the
    consult gives pregnancy and weight_kg; `allergies` are herb names (added to a registered
    patient's)."""

    patient = PrecheckPatientField(
        help_text="A registered patient id, or the clinical facts {sex, age_years | date_of_birth}"
    )
    consult = ConsultSerializer(required=False, default=dict)
    allergies = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, default=list, max_length=40
    )
    items = ItemsField(allow_empty=True)
    doses = WholeNumberField(required=False, default=1)
    decoction = serializers.ChoiceField(choices=Decoction.choices, default=Decoction.CENTER)
    delivery = serializers.ChoiceField(choices=DeliveryMode.choices, default=DeliveryMode.ADDRESS)

    def validate_patient(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            if parse_id(value) is None:
                raise serializers.ValidationError("No such patient.")
            return value
        if isinstance(value, dict):
            serializer = PrecheckPatientSerializer(data=value)
            serializer.is_valid(raise_exception=True)
            return dict(serializer.validated_data)
        raise serializers.ValidationError("Give a registered patient id or the facts {sex, age_years}.")


class FindingOutSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A finding code, e.g. incompatibility.eighteen")
    severity = serializers.ChoiceField(choices=["block", "warn", "info"])
    herbs = serializers.ListField(child=serializers.CharField(), help_text="Herbs as written")
    message = serializers.CharField()
    source = serializers.CharField(help_text="The source of the rule's row")


class PriceOutSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.DecimalField(max_digits=10, decimal_places=2))
    herb_total = serializers.DecimalField(max_digits=10, decimal_places=2)
    decoction_fee = serializers.DecimalField(max_digits=8, decimal_places=2)
    delivery_fee = serializers.DecimalField(max_digits=8, decimal_places=2)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)


class PrecheckOutSerializer(serializers.Serializer):
    findings = FindingOutSerializer(many=True)
    price = PriceOutSerializer()


class ItemOutSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    herb = serializers.CharField(source="herb.name")
    written_name = serializers.CharField()
    grams = serializers.DecimalField(max_digits=7, decimal_places=2)
    instruction = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=8, decimal_places=4)


class EventOutSerializer(serializers.Serializer):
    stage = serializers.CharField()
    stage_label = serializers.CharField(source="get_stage_display")
    actor = serializers.CharField(source="actor_name")
    at = serializers.DateTimeField()
    data = serializers.JSONField()


class PrescriptionListSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.name")
    prescriber_name = serializers.StringRelatedField(source="prescriber")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Prescription
        fields = [
            "id",
            "number",
            "version",
            "status",
            "status_label",
            "risk_level",
            "patient",
            "patient_name",
            "prescriber_name",
            "doses",
            "total",
            "urgent",
            "created_at",
        ]


class PrescriptionDetailSerializer(PrescriptionListSerializer):
    items = ItemOutSerializer(many=True)
    events = EventOutSerializer(many=True)
    consult = serializers.SerializerMethodField()
    tracking_url = serializers.SerializerMethodField()
    previous = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # null for a first version

    class Meta(PrescriptionListSerializer.Meta):
        fields = PrescriptionListSerializer.Meta.fields + [
            "items",
            "consult",
            "usage",
            "decoction",
            "delivery",
            "delivery_address",
            "notes",
            "formula_source",
            "double_signature",
            "herb_total",
            "decoction_fee",
            "delivery_fee",
            "previous",
            "events",
            "tracking_url",
        ]

    def get_consult(self, obj) -> dict:
        consult = {field: getattr(obj.consult, field) for field in CONSULT_FIELDS}
        weight = consult["weight_kg"]
        return consult | {"weight_kg": str(weight) if weight else None}

    def get_tracking_url(self, obj) -> str | None:
        return obj.tracking_url


def submit_response(prescription) -> dict:
    return {
        "id": prescription.pk,
        "number": prescription.number,
        "version": prescription.version,
        "status": prescription.status,
        "tracking_url": prescription.tracking_url,
    }
