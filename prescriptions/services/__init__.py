"""All writes of the prescriptions app."""

from .checking import draft_for_audit, prescription_precheck
from .drafting import PrescriptionForm, finding_key, price_quote
from .prescriptions import (
    consult_attach_photo,
    prescription_cancel,
    prescription_submit,
    prescription_submit_for,
)
from .trace import prescription_record_step, prescription_transition, record_event, station_event_data

__all__ = [
    "PrescriptionForm",
    "consult_attach_photo",
    "draft_for_audit",
    "finding_key",
    "prescription_cancel",
    "prescription_precheck",
    "prescription_submit",
    "prescription_submit_for",
    "prescription_record_step",
    "prescription_transition",
    "price_quote",
    "record_event",
    "station_event_data",
]
