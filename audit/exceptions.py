from core.exceptions import Conflict


class AuditConflict(Conflict):
    """Someone else holds or has decided this prescription (HTTP 409)."""


class ReviewConflict(Conflict):
    """The sampled prescription has been scored already (HTTP 409)."""
