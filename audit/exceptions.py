class AuditConflict(Exception):
    """Someone else holds or has decided this prescription (HTTP 409)."""

    def __init__(self, message):
        self.message = message
        super().__init__(message)
