"""Security events go to the `tcm.security` log (README, Security: what is logged, and how the
operator keeps it 180 days): logins by page and by token, failed logins, lockouts, logouts,
password changes, permission denials, double-signature failures, tracking-page lockouts and
administrators' changes to users and role groups. django-axes keeps the failed attempts and
Django's admin log the admin changes too, but both live in the database an administrator reaches.

Every line is `<event> key=value ...`, the client's address (core.addresses.client_address)
among the values; every value goes through `clean`, so a value a user typed (a username, a path)
cannot forge a log line."""

import logging
import unicodedata

from core.addresses import client_address

logger = logging.getLogger("tcm.security")


def clean(value) -> str:
    """`value` as one log-safe token: control and line-separator characters become \\xNN/\\uNNNN."""
    text = "-" if value is None or value == "" else str(value)
    out = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char == "\\":
            out.append("\\\\" if char == "\\" else f"\\u{ord(char):04x}" if ord(char) > 0xFF else f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _write(level: int, event: str, **fields) -> None:
    logger.log(level, "%s %s", event, " ".join(f"{key}={clean(value)}" for key, value in fields.items()))


def _address(request) -> str:
    return client_address(request) if request is not None else ""


def _username(user) -> str:
    return getattr(user, "username", "") or ""


def logged_in(sender, request, user, **kwargs):
    """Django's user_logged_in (the sign-in pages), and the API's token endpoint (accounts.api)."""
    _write(logging.INFO, "login", user=user.username, address=_address(request), path=getattr(request, "path", ""))


def logged_out(sender, request, user, **kwargs):
    _write(logging.INFO, "logout", user=_username(user), address=_address(request))


def login_failed(sender, credentials, request=None, **kwargs):
    _write(
        logging.WARNING,
        "login failed",
        user=credentials.get("username"),
        address=_address(request),
        path=getattr(request, "path", ""),
    )


def locked_out(sender, request, username, ip_address, **kwargs):
    """django-axes's user_locked_out: at the failure that locks, and at each refused try after."""
    _write(logging.WARNING, "locked out", user=username, address=ip_address, path=getattr(request, "path", ""))


def password_changed(*, user, actor, request=None) -> None:
    _write(
        logging.INFO,
        "password changed",
        user=user.username,
        by=_username(actor) or "system",
        address=_address(request),
    )


def permission_denied(request) -> None:
    _write(
        logging.WARNING,
        "permission denied",
        user=_username(getattr(request, "user", None)),
        address=_address(request),
        method=request.method,
        path=request.path,
    )


def signature_failed(*, user, request, locked: bool) -> None:
    """A double signature refused: a wrong password, or any password while the user is locked out."""
    _write(
        logging.WARNING,
        "double signature failed",
        user=user.username,
        reason="locked out" if locked else "wrong password",
        address=_address(request),
    )


def tracking_locked(*, prescription: str, address: str) -> None:
    """Too many tries at the last 4 digits of the patient's mobile on the tracking page."""
    _write(logging.WARNING, "tracking locked", prescription=prescription, address=address)


def admin_changed(*, request, action: str, kind: str, name: str, fields=(), roles=None) -> None:
    """An administrator added, changed or deleted a user or a role group in the admin."""
    values = {kind: name, "fields": ",".join(fields)}
    if roles is not None:
        values["roles"] = ",".join(roles)
    _write(logging.INFO, f"admin {action} {kind}", **values, by=_username(request.user), address=_address(request))
