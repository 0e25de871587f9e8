"""What a station's tablet reads: its queue and the sheet of one prescription waiting there (the
rows to weigh or pack), never the consult, the audit or the patient's contact."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalogue.models import SpecialDecoction
from prescriptions.models import Prescription

from ..services import is_child, required_steps


class StationSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    stages = serializers.ListField(child=serializers.CharField(), help_text="The steps recorded here")
    waiting = serializers.IntegerField(help_text="How many prescriptions wait here")


class StationQueueItemSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="display_number")
    patient = serializers.CharField(source="patient.masked_name")
    institution = serializers.CharField(source="institution.name")

    class Meta:
        model = Prescription
        fields = ["id", "number", "status", "urgent", "doses", "decoction", "delivery", "patient", "institution"]


class SheetItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    herb = serializers.CharField(source="herb.name")
    written_name = serializers.CharField()
    grams = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="Per dose")
    total_grams = serializers.SerializerMethodField(help_text="For all doses: what is weighed")
    instruction = serializers.CharField()
    instruction_label = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DecimalField(max_digits=9, decimal_places=2))
    def get_total_grams(self, item) -> str:
        return f"{item.grams * self.context['doses']:.2f}"

    def get_instruction_label(self, item) -> str:
        return str(dict(SpecialDecoction.choices).get(item.instruction, ""))


class DecoctionStepSerializer(serializers.Serializer):
    herb = serializers.CharField()
    instruction = serializers.CharField()
    label = serializers.CharField()


class DispensedSerializer(serializers.Serializer):
    """The latest dispensing, for the re-check: the weights per herb and who weighed them."""

    dispenser = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")
    weights = serializers.JSONField(help_text="Per herb: position, herb, expected_g, actual_g, deviation_pct, batches")


class SheetSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="display_number")
    patient = serializers.CharField(source="patient.masked_name")
    child = serializers.SerializerMethodField(help_text="Under the pediatric age: the child's ml per bag apply")
    items = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField(help_text="The special decoction steps (先煎/后下/…)")
    dispensed = serializers.SerializerMethodField()

    class Meta:
        model = Prescription
        fields = [
            "id",
            "number",
            "status",
            "urgent",
            "doses",
            "usage",
            "decoction",
            "delivery",
            "patient",
            "child",
            "items",
            "steps",
            "dispensed",
        ]

    def get_child(self, obj) -> bool:
        return is_child(obj.patient)

    @extend_schema_field(SheetItemSerializer(many=True))
    def get_items(self, obj) -> list:
        items = obj.items.select_related("herb").order_by("position")
        return SheetItemSerializer(items, many=True, context={"doses": obj.doses}).data

    @extend_schema_field(DecoctionStepSerializer(many=True))
    def get_steps(self, obj) -> list:
        return required_steps(obj)

    @extend_schema_field(DispensedSerializer(allow_null=True))
    def get_dispensed(self, obj) -> dict | None:
        record = obj.dispensing_records.select_related("dispenser").order_by("-created_at", "-pk").first()
        return DispensedSerializer(record).data if record else None
