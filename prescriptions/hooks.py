"""Extension points through which later stages join a prescription's life without this app
importing them (the dependency direction is checked by import-linter).

- `draft_checkers`: functions (draft: dict) -> list of finding dicts; the submit service asks
  them for block-level findings that need the clinician's second signature. The audit app
  registers its rule engine here.
"""

draft_checkers: list = []


def check_draft(draft: dict) -> list[dict]:
    findings = []
    for checker in draft_checkers:
        findings.extend(checker(draft))
    return findings


# Functions (prescription, event) called inside the transaction of every status change, after
# its trace event is written: the delivery app writes the patient notification to its outbox
# and schedules the tracking page's cache invalidation here.
transition_listeners: list = []
