"""Staff logins, logouts and failed logins go to the `tcm.security` log (kept by the operator's
log retention); admin changes are recorded by Django's admin LogEntry and django-axes keeps the
failed attempts."""

import logging

logger = logging.getLogger("tcm.security")


def _address(request):
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def logged_in(sender, request, user, **kwargs):
    logger.info("login user=%s address=%s", user.username, _address(request))


def logged_out(sender, request, user, **kwargs):
    logger.info("logout user=%s address=%s", getattr(user, "username", "-"), _address(request))


def login_failed(sender, credentials, request=None, **kwargs):
    logger.warning("login failed user=%s address=%s", credentials.get("username", "-"), _address(request))
