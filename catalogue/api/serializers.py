from rest_framework import serializers

from ..models import Formula, Herb, StockBatch


class HerbSerializer(serializers.ModelSerializer):
    toxicity_label = serializers.CharField(source="get_toxicity_display", read_only=True)
    special_decoction_label = serializers.CharField(source="get_special_decoction_display", read_only=True)
    pregnancy_label = serializers.CharField(source="get_pregnancy_display", read_only=True)
    matched_alias = serializers.SerializerMethodField()
    toxic = serializers.SerializerMethodField(
        help_text="On the 28-item list of 《医疗用毒性药品管理办法》: the editor marks it in suggestions"
    )
    processing = serializers.SerializerMethodField(
        help_text="For a processed form, the processing in its name (炙甘草 → 炙); empty for the base herb"
    )

    class Meta:
        model = Herb
        fields = [
            "id",
            "name",
            "pinyin",
            "initials",
            "base_herb",
            "category",
            "dose_min_g",
            "dose_max_g",
            "toxicity",
            "toxicity_label",
            "special_decoction",
            "special_decoction_label",
            "pregnancy",
            "pregnancy_label",
            "external_only",
            "price_per_g",
            "active",
            "confidence",
            "verified_by_pharmacist",
            "matched_alias",
            "monograph",
            "rule_source",
            "toxic",
            "processing",
            "pharmacopoeia_excerpt",
        ]

    def get_matched_alias(self, obj) -> str:
        return getattr(obj, "matched_alias", "")  # set on the herbs a search found (catalogue.filters)

    def get_toxic(self, obj) -> bool:
        toxic_ids = self.context.get("toxic_ids")
        if toxic_ids is None:
            return obj.toxic_list_entries.exists()
        return obj.pk in toxic_ids

    def get_processing(self, obj) -> str:
        base = obj.base_herb
        if not base or base == obj.name or base not in obj.name:
            return ""
        return obj.name.replace(base, "", 1)


class StockBatchSerializer(serializers.ModelSerializer):
    herb_name = serializers.CharField(source="herb.name", read_only=True)
    pharmacy_code = serializers.CharField(source="pharmacy.code", read_only=True)

    class Meta:
        model = StockBatch
        fields = ["id", "herb", "herb_name", "pharmacy", "pharmacy_code", "batch_no", "expiry_date", "quantity_g"]


class FormulaSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    label = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Formula
        fields = ["id", "kind", "kind_label", "name", "label", "version", "items", "usage", "indications", "source"]
        read_only_fields = ["id", "kind", "kind_label", "label", "version", "indications", "source"]
