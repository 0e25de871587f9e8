from rest_framework import serializers

from ..models import Patient, Sex


class AllergiesField(serializers.ListField):
    """Herb names: read as names, answered as the names of the patient's allergy herbs (documented
    both ways: it was write-only in the schema while every answer carried it)."""

    def get_attribute(self, instance):
        return [herb.name for herb in instance.allergies.all()]


class PatientSerializer(serializers.ModelSerializer):
    """Shape and types only; the rules (ID checksum, mobile, derived birth date) live in services."""

    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    mobile = serializers.CharField(max_length=20)
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True)
    allergies = AllergiesField(child=serializers.CharField(max_length=20), required=False, max_length=50)
    institution_code = serializers.CharField(source="institution.code", read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "name",
            "sex",
            "date_of_birth",
            "mobile",
            "id_number",
            "address",
            "township",
            "allergies",
            "allergy_notes",
            "notes",
            "institution_code",
            "created_at",
        ]
        read_only_fields = ["id", "institution_code", "created_at"]
