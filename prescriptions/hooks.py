"""Extension points through which later stages join a prescription's life without this app
importing them (the dependency direction is checked by import-linter)."""

# Functions (prescription, event) called inside the transaction of every status change, after
# its trace event is written: the delivery app writes the patient notification to its outbox
# and schedules the tracking page's cache invalidation here.
transition_listeners: list = []
