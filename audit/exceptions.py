from core.exceptions import Conflict


class AuditConflict(Conflict):
    """Someone else holds or has decided this prescription (HTTP 409)."""
