"""Reading the settings' environment variables: each helper returns the value or stops start-up
with ImproperlyConfigured saying what is wrong (README, Configuration)."""

import ipaddress
import os
import socket
from urllib.parse import urlsplit

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


def demo_site_url(host: str) -> str:
    """The absolute base of the demo's links, from the address `make demo` gives runserver
    (HOST: "127.0.0.1:8000", "0.0.0.0:8080", or a bare port). A wildcard address is reached at this
    machine's own network address, so a phone on the same network can open a printed QR code."""
    name, _, port = host.strip().rpartition(":")
    if not name and port.isdigit():
        name = "127.0.0.1"  # runserver reads a bare port as 127.0.0.1:<port>
    if not port.isdigit():
        name, port = host.strip(), "8000"
    if name in ("0.0.0.0", "[::]", "::", ""):
        name = network_address()
    return f"http://{name}:{port}"


def network_address() -> str:
    """This machine's address on its default route; 127.0.0.1 when it has none. Connecting a UDP
    socket only picks the route: nothing is sent (192.0.2.1 is a documentation address)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def url_host(url: str) -> str:
    """The host of `url` as ALLOWED_HOSTS names it (no port; an IPv6 address in brackets)."""
    host = urlsplit(url).hostname or ""
    return f"[{host}]" if ":" in host else host
