"""All writes of the prescriptions app."""

from .patients import clean_patient_values, patient_create, patient_update, resolve_allergy_names
from .prescriptions import (
    consult_attach_photo,
    draft_for_audit,
    finding_key,
    prescription_cancel,
    prescription_precheck,
    prescription_submit,
    prescription_submit_for,
    price_quote,
)
from .trace import prescription_record_step, prescription_transition, record_event, station_event_data

__all__ = [
    "clean_patient_values",
    "consult_attach_photo",
    "draft_for_audit",
    "finding_key",
    "patient_create",
    "patient_update",
    "prescription_cancel",
    "prescription_precheck",
    "prescription_submit",
    "prescription_submit_for",
    "prescription_record_step",
    "prescription_transition",
    "price_quote",
    "record_event",
    "resolve_allergy_names",
    "station_event_data",
]
