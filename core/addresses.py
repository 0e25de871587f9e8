"""The address of the client behind the documented reverse proxy: the one address the login
lockout (django-axes, AXES_CLIENT_IP_CALLABLE), the tracking page's rate limits and the security
log count and name a client by."""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_address(request) -> str:
    """REMOTE_ADDR, unless the connection comes from one of the trusted proxies
    (TCM_TRUSTED_PROXIES, IPs or CIDRs, none by default): then the right-most address of
    X-Forwarded-For that is not itself a trusted proxy. Each proxy appends the address it saw, so
    only the right end of the header is vouched for; whatever the client wrote to the left is
    never taken while a vouched-for address remains. Nobody else's X-Forwarded-For is read."""
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TCM_TRUSTED_PROXIES))
    address = _address(remote)
    if address is None or not any(address in network for network in networks):
        return remote
    found = str(address)
    for part in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(part)
        if address is None:  # not written by a proxy of ours: stop at the last one that was
            break
        found = str(address)
        if not any(address in network for network in networks):
            break
    return found
