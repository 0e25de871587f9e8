"""The cached tracking pages: their keys, and dropping them when what they show has changed (a new
stage, pulled from the trace; a failed delivery attempt, recorded by the courier)."""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


# What is cached for a token: the rendered page, and the JSON as encoded text ("json-text": an
# earlier release cached a dict under "json", which must never be sent as its repr).
TRACK_CACHE_KINDS = ("page", "json-text")


def track_cache_key(kind: str, token: str, language: str) -> str:
    """The key of the cached tracking `kind` (TRACK_CACHE_KINDS) of `token` in `language`."""
    return f"track:{kind}:{token}:{language}"


def track_cache_keys(token: str) -> list[str]:
    """Every key under which the tracking page and JSON of `token` are cached."""
    return [track_cache_key(kind, token, language) for kind in TRACK_CACHE_KINDS for language in ("zh-hans", "en")]


def forget_tracking_pages(keys: list[str]) -> None:
    """After commit. A cache outage must not fail a write that has committed; the page then
    expires on its own within TRACK_CACHE_SECONDS."""
    try:
        cache.delete_many(keys)
    except Exception:  # noqa: BLE001 - any cache error
        logger.warning("could not drop cached tracking pages %s", keys, exc_info=True)
