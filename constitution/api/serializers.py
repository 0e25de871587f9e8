from rest_framework import serializers

from ..models import ConstitutionAssessment


class TypeScoreSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="The type's Chinese name, e.g. 气虚质")
    items = serializers.IntegerField(help_text="Items counted for this type and the patient's sex")
    raw = serializers.IntegerField()
    score = serializers.FloatField(help_text="(raw − items) / (items × 4) × 100, to one decimal")
    judgement = serializers.ChoiceField(choices=["yes", "basically", "tendency", "no"])
    label = serializers.CharField(help_text="是, 基本是 (平和质 only), 倾向是 or 否")


class ResultSerializer(serializers.Serializer):
    primary = serializers.ListField(child=serializers.CharField(), help_text="平和质, or the biased types that are 是")
    tendencies = serializers.ListField(child=serializers.CharField(), help_text="Biased types that are 倾向是")
    summary = serializers.CharField()


class AssessmentSerializer(serializers.ModelSerializer):
    scores = TypeScoreSerializer(many=True)
    result = ResultSerializer()
    answers = serializers.DictField(child=serializers.IntegerField(), help_text="Item id → 1..5")
    recorded_by = serializers.CharField(source="recorded_by.username", allow_null=True, default=None)

    class Meta:
        model = ConstitutionAssessment
        fields = [
            "id",
            "taken_at",
            "mode",
            "sex",
            "questionnaire_version",
            "summary",
            "result",
            "scores",
            "answers",
            "recorded_by",
        ]
        read_only_fields = fields


class AnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Every item of the patient's sex (GET /api/v1/constitution/questionnaire/?sex=) → 1..5",
    )


class ItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    sex = serializers.ChoiceField(choices=["both", "female", "male"])


class SectionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    items = ItemSerializer(many=True)


class OptionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()


class QuestionnaireSerializer(serializers.Serializer):
    version = serializers.CharField()
    sex = serializers.CharField()
    instruction = serializers.CharField()
    options = OptionSerializer(many=True)
    sections = SectionSerializer(many=True, help_text="Each item once, under the first type that asks it")


class InviteSerializer(serializers.Serializer):
    token = serializers.CharField()
    url = serializers.CharField(help_text="The patient's page; show it as a QR code")
    expires_at = serializers.DateTimeField()


class InviteQuestionnaireSerializer(serializers.Serializer):
    """What a patient's mini-program shows for an invitation: who it is for (masked), the consent
    to agree to, and the questions of the patient's sex."""

    patient = serializers.CharField(help_text="The patient's masked name, e.g. 赵**")
    expires_at = serializers.DateTimeField()
    consent = serializers.ListField(child=serializers.CharField(), help_text="Paragraphs to read and agree to")
    questionnaire = QuestionnaireSerializer()


class InviteAnswersSerializer(serializers.Serializer):
    consent = serializers.BooleanField(help_text="true: the patient agreed to the consent text")
    answers = serializers.DictField(child=serializers.JSONField(), help_text="Every item of the questionnaire → 1..5")


class AdviceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    emotion = serializers.CharField()
    diet = serializers.CharField()
    daily_life = serializers.CharField()
    exercise = serializers.CharField()


class InviteResultSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField()
    summary = serializers.CharField()
    result = ResultSerializer()
    scores = TypeScoreSerializer(many=True)
    advice = AdviceSerializer(many=True, help_text="For the primary types and tendencies")
    advice_source = serializers.CharField()
