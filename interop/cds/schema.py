"""The OpenAPI description of the CDS Hooks endpoints (documentation only: the requests are read
by interop.cds.parsing and interop.cds.prefetch, and the answers are checked against the CDS Hooks
2.0 card schema in interop/cds/response.schema.json by the tests)."""

from rest_framework import serializers

FHIR_RESOURCE = "A FHIR R4 resource as JSON; only the fields the check reads are checked."


class CdsServiceSerializer(serializers.Serializer):
    hook = serializers.CharField(help_text="The hook the service answers: order-select or order-sign.")
    id = serializers.CharField(help_text="The service id: POST /cds-services/{id}.")
    title = serializers.CharField()
    description = serializers.CharField()
    prefetch = serializers.DictField(
        child=serializers.CharField(),
        help_text="The prefetch templates: patient, allergies, pregnancy (LOINC 82810-3), weight (LOINC 29463-7).",
    )


class CdsDiscoverySerializer(serializers.Serializer):
    services = CdsServiceSerializer(many=True)


class CdsContextSerializer(serializers.Serializer):
    userId = serializers.CharField(help_text="The EHR user, e.g. Practitioner/123.")
    patientId = serializers.CharField(help_text="The FHIR id of the patient; a prefetched Patient must have it.")
    encounterId = serializers.CharField(required=False)
    selections = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Required for order-select: the orders just chosen, e.g. MedicationRequest/1.",
    )
    draftOrders = serializers.DictField(
        help_text=(
            "A Bundle of MedicationRequests, one per herb: the herb in medicationCodeableConcept, grams per dose "
            "in dosageInstruction[0].doseAndRate[0].doseQuantity, the decoction method in "
            "dosageInstruction[0].additionalInstruction, the number of doses in dispenseRequest.quantity.value."
        )
    )


class CdsPrefetchSerializer(serializers.Serializer):
    patient = serializers.DictField(required=False, allow_null=True, help_text=FHIR_RESOURCE)
    allergies = serializers.DictField(required=False, allow_null=True, help_text=FHIR_RESOURCE)
    pregnancy = serializers.DictField(required=False, allow_null=True, help_text=FHIR_RESOURCE)
    weight = serializers.DictField(required=False, allow_null=True, help_text=FHIR_RESOURCE)


class CdsHookCallSerializer(serializers.Serializer):
    hook = serializers.CharField(help_text="The service's hook: order-select or order-sign.")
    hookInstance = serializers.UUIDField(help_text="A UUID for this firing of the hook.")
    fhirServer = serializers.CharField(required=False, help_text="The EHR's FHIR base URL; never called back.")
    fhirAuthorization = serializers.DictField(required=False)
    context = CdsContextSerializer()
    prefetch = CdsPrefetchSerializer(
        required=False, help_text="Missing facts are unknown (no age, pregnancy unknown), never an error."
    )


class CdsCodingSerializer(serializers.Serializer):
    system = serializers.CharField()
    code = serializers.CharField()
    display = serializers.CharField(required=False)


class CdsSourceSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="Where the rule comes from, e.g. the Chinese Pharmacopoeia 2020.")
    topic = CdsCodingSerializer(required=False, help_text="The finding code (the audit-finding code system).")


class CdsActionSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="update (resource: the whole changed MedicationRequest) or delete.")
    description = serializers.CharField()
    resource = serializers.DictField(required=False, help_text=FHIR_RESOURCE)
    resourceId = serializers.CharField(required=False, help_text="For a delete: MedicationRequest/<id>.")


class CdsSuggestionSerializer(serializers.Serializer):
    label = serializers.CharField()
    uuid = serializers.UUIDField()
    isRecommended = serializers.BooleanField()
    actions = CdsActionSerializer(many=True)


class CdsCardSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    summary = serializers.CharField(max_length=139, help_text="The finding's message (under 140 characters).")
    detail = serializers.CharField(help_text="The whole message, then the rule version and engine version.")
    indicator = serializers.ChoiceField(
        choices=["info", "warning", "critical"], help_text="From the finding's severity: info, warn, block."
    )
    source = CdsSourceSerializer()
    suggestions = CdsSuggestionSerializer(many=True, required=False)
    selectionBehavior = serializers.CharField(required=False, help_text="at-most-one, with the suggestions.")
    extension = serializers.DictField(
        help_text="cn.tcm-platform.audit: ruleVersion, engineVersion, and the finding's code, severity and herbs."
    )


class CdsCardsSerializer(serializers.Serializer):
    cards = CdsCardSerializer(many=True, help_text="One card per finding; empty when there is nothing to say.")
