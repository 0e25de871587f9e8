"""Keyed hashes for records a database administrator must not be able to rewrite unnoticed (the
trace): HMAC-SHA256 with secrets held outside the database (settings.TCM_TRACE_KEYS, from the
environment). Each mark names the id of the key that made it, so keys can be rotated: a new key
signs from then on, old keys stay configured to verify what they signed."""

import hashlib
import hmac

from django.conf import settings


class UnknownKey(KeyError):
    """A mark names a key id that is not configured (removed too early, or forged)."""


def current_key_id() -> str:
    return settings.TCM_TRACE_KEYS[0][0]


def keyed_hash(text: str, key_id: str) -> str:
    """HMAC-SHA256 of `text` under the key `key_id`, as 64 hex digits. Raises UnknownKey."""
    secret = dict(settings.TCM_TRACE_KEYS).get(key_id)
    if secret is None:
        raise UnknownKey(key_id)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a or "", b or "")
