"""Security events go to the `tcm.security` log (kept by the operator's log retention): staff
logins, logouts, failed logins and password changes. Admin changes are also recorded by Django's
admin LogEntry and django-axes keeps the failed attempts.

Values a user typed (a username) are written with control characters escaped, so a newline in a
username cannot forge a log line."""

import logging
import unicodedata

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


def _address(request):
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def logged_in(sender, request, user, **kwargs):
    logger.info("login user=%s address=%s", clean(user.username), clean(_address(request)))


def logged_out(sender, request, user, **kwargs):
    logger.info("logout user=%s address=%s", clean(getattr(user, "username", None)), clean(_address(request)))


def login_failed(sender, credentials, request=None, **kwargs):
    logger.warning("login failed user=%s address=%s", clean(credentials.get("username")), clean(_address(request)))


def password_changed(*, user, actor, address: str = "") -> None:
    logger.info(
        "password changed user=%s by=%s address=%s",
        clean(user.username),
        clean(getattr(actor, "username", None) or "system"),
        clean(address),
    )
