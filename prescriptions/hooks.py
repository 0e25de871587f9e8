"""Extension points through which later stages join a prescription's life without this app
importing them (the dependency direction is checked by import-linter).

- `submitted_listeners`: functions (prescription_id: int) called after a submit commits; the
  audit app enqueues the AI audit here.
- `stage_recorders`: the station steps (dispensing, re-check, soaking, …, delivery), each
  registered by the app that owns it; `POST /api/v1/prescriptions/{id}/events/` dispatches here.
"""

submitted_listeners: list = []


def notify_submitted(prescription_id: int) -> None:
    for listener in submitted_listeners:
        listener(prescription_id)


# Stage code -> function(actor, prescription, data: dict, files: dict) -> TraceEvent. The stage
# apps register the steps they own; the events API (prescriptions.api) dispatches here.
stage_recorders: dict = {}

# Functions (prescription, event) called inside the transaction of every status change, after
# its trace event is written: the delivery app writes the patient notification to its outbox
# and schedules the tracking page's cache invalidation here.
transition_listeners: list = []
