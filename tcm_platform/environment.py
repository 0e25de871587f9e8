"""Reading the settings' environment variables: each helper returns the value or stops start-up
with ImproperlyConfigured saying what is wrong (README, Configuration)."""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_positive_int(name, default):
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit() or int(value) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


def env_required(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is false (see README, Production).")
    return value


def env_networks(name):
    """Comma-separated IP addresses or CIDRs (e.g. the proxies trusted with X-Forwarded-For)."""
    networks = env_list(name)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {network!r} is not an IP address or CIDR.") from None
    return networks


def trace_keys(value: str) -> list[tuple[str, str]]:
    """TCM_TRACE_KEYS: "k2:<secret>,k1:<secret>" — key ids with the secrets that key the trace's
    hashes. The first signs new events; the others still verify the events they signed."""
    keys = []
    for item in (part.strip() for part in value.split(",") if part.strip()):
        key_id, _, secret = item.partition(":")
        if not key_id.isalnum() or len(key_id) > 8 or len(secret) < 32:
            raise ImproperlyConfigured(
                "TCM_TRACE_KEYS must be id:secret pairs (id of 1-8 letters or digits, secret of 32+ characters)."
            )
        keys.append((key_id, secret))
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise ImproperlyConfigured("TCM_TRACE_KEYS names a key id twice.")
    return keys
