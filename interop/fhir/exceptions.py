"""The FHIR API's own refusal: an HTTP status with the OperationOutcome issue code that explains it
(interop.fhir.protocol turns it, and every other error of the API, into an OperationOutcome)."""


class FHIRError(Exception):
    """A request the API refuses: `status` (400, 404, 406 ...), `code` from the FHIR IssueType
    codes (invalid, not-supported, not-found ...), `message` for a person to read."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
