"""What a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE): after AXES_FAILURE_LIMIT
failures a username is locked from an address for AXES_COOLOFF_TIME. The pages answer with a page
in the site's layout, the API with its JSON error; both say for how long, with Retry-After."""

from axes.helpers import get_cool_off
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

STATUS = 429  # Too Many Requests: the caller may try again after Retry-After


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    if seconds:
        message = _(
            "Too many failed sign-ins: this account is locked from this address for %(minutes)d minutes. "
            "Please try again later."
        ) % {"minutes": max(1, round(seconds / 60))}
    else:  # AXES_COOLOFF_TIME = None: locked until someone unlocks it
        message = _(
            "Too many failed sign-ins: this account is locked from this address until an administrator unlocks it."
        )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "errors": {}}, status=STATUS)
    else:
        response = render(request, "accounts/locked_out.html", {"message": message}, status=STATUS)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
