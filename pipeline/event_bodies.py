"""The body of each station step as the events API documents it (one schema per `stage`, a
oneOf with `stage` as its discriminator). Documentation only: the recorders of pipeline.steps.STEPS
check the data, so no rule is written twice. The limits named here are the station settings'
(decoction.models.StationSettings, one row in the admin); a step outside one is refused with a
400 at `ack_reason` until it is sent again with the operator's reason."""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from core.api import TextField, UploadField
from core.ids import IdempotencyKeyField
from prescriptions.workflow import Stage


def stage_field(*stages: str) -> serializers.CharField:
    """`stage`, one of `stages` in the schema. A class per field: a serializer copies its fields
    anew, which drops an annotation made on an instance."""
    field_class = type(f"StageField_{'_'.join(stages)}", (serializers.CharField,), {})
    return extend_schema_field({"type": "string", "enum": list(stages)})(field_class)()


def key_field() -> serializers.CharField:
    return IdempotencyKeyField(help_text="Or the Idempotency-Key header: a repeat returns the event recorded (200)")


class WeightSerializer(serializers.Serializer):
    grams = serializers.DecimalField(max_digits=9, decimal_places=2, help_text="Total grams weighed for all doses")


class DispensedBody(serializers.Serializer):
    """The dispenser, at the serving shared pharmacy. Stock is taken by batch, earliest expiry
    first. The photo of the dispensed herbs is required: send this step as multipart
    (StationStepUpload)."""

    stage = stage_field(Stage.DISPENSED)
    weights = WeightSerializer(
        many=True,
        help_text=(
            "One per herb, in the prescription's order. Each within the "
            "weight tolerance of grams × doses (±5 % by default), else a 400 at weights[n].grams: no acknowledgement"
        ),
    )
    idempotency_key = key_field()


class RecheckedBody(serializers.Serializer):
    """A pharmacist of the pharmacy or the institution above it, never the dispenser."""

    stage = stage_field(Stage.RECHECKED)
    idempotency_key = key_field()


class RecheckFailedBody(serializers.Serializer):
    """Sent back to dispensing."""

    stage = stage_field(Stage.RECHECK_FAILED)
    reason = TextField(help_text="What is wrong, for the dispenser")
    idempotency_key = key_field()


class SoakingBody(serializers.Serializer):
    stage = stage_field(Stage.SOAKING)
    tank = TextField(help_text="The soaking tank or pot (20 characters kept)")
    idempotency_key = key_field()


class DecoctingBody(serializers.Serializer):
    stage = stage_field(Stage.DECOCTING)
    machine = TextField(help_text="The decoction machine (20 characters kept)")
    ack_reason = TextField(
        required=False,
        help_text="Needed when soaking lasted less than the minimum (30 minutes by default)",
    )
    idempotency_key = key_field()


class PackagedBody(serializers.Serializer):
    """Centre decoction: bags of decoction; self-decoction: packs of herbs (no ml per bag)."""

    stage = stage_field(Stage.PACKAGED)
    bags = serializers.IntegerField(min_value=1, max_value=200, help_text="A whole number")
    ml_per_bag = serializers.IntegerField(required=False, help_text="Centre decoction only: a whole number")
    ack_reason = TextField(
        required=False,
        help_text=(
            "Needed when the ml per bag is outside the window for the patient (adult 200–300, child 50–150 by "
            "default) or the decoction time outside the window for the prescription's type (general 20–60, "
            "exterior-releasing 15–40, tonic 40–120 minutes by default)"
        ),
    )
    idempotency_key = key_field()


class ShippedBody(serializers.Serializer):
    """The courier sets off: the prescription must be a stop of their own open run."""

    stage = stage_field(Stage.SHIPPED)
    idempotency_key = key_field()


class DeliveredBody(serializers.Serializer):
    """The courier, on their own open run; with a photo, as multipart (StationStepUpload)."""

    stage = stage_field(Stage.DELIVERED)
    receiver_name = TextField(help_text="Who received it (50 characters kept)")
    idempotency_key = key_field()


class PickedUpBody(serializers.Serializer):
    """At the clinic or pharmacy, handed to the patient (hand_over)."""

    stage = stage_field(Stage.PICKED_UP)
    code = TextField(help_text="The patient's 6-digit pickup code")
    idempotency_key = key_field()


BODIES = {
    Stage.DISPENSED: DispensedBody,
    Stage.RECHECKED: RecheckedBody,
    Stage.RECHECK_FAILED: RecheckFailedBody,
    Stage.SOAKING: SoakingBody,
    Stage.DECOCTING: DecoctingBody,
    Stage.PACKAGED: PackagedBody,
    Stage.SHIPPED: ShippedBody,
    Stage.DELIVERED: DeliveredBody,
    Stage.PICKED_UP: PickedUpBody,
}


class StationStepUpload(serializers.Serializer):
    """A step that carries a photo, as multipart: `dispensed` (weights and the photo, required) or
    `delivered` (receiver_name and an optional photo); their rules as in StationStep."""

    stage = stage_field(Stage.DISPENSED, Stage.DELIVERED)
    weights = TextField(required=False, help_text="`dispensed`: the list of StationStep's weights as JSON text")
    photo = UploadField(required=False, help_text="JPEG, PNG or WebP; required for `dispensed`")
    receiver_name = TextField(required=False, help_text="`delivered`: who received it")
    idempotency_key = key_field()


STEP_BODY = PolymorphicProxySerializer(
    component_name="StationStep",
    serializers={str(stage): body for stage, body in BODIES.items()},
    resource_type_field_name="stage",
)
