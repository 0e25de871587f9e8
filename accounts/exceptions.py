"""Errors of the accounts app."""


class TokenRefused(Exception):
    """An API token that does not let its caller in: unknown, revoked, expired, or its user
    inactive. The message (translated) says which, for the system's operator; the API answers 401."""
