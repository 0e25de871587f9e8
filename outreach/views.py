"""The staff's schedule page (the coming sessions of the user's subtree and their own, with each
centre's public page), and the public schedule page of a township (or central) health centre: the
coming visiting-expert sessions, phone-sized, to share or print as a poster with its QR code. No
sign-in, nothing private: the centre, the dates and times, the expert's name and institution."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import ensure_capability, has_capability
from core.qr import qr_image

from .selectors import PUBLIC_WEEKS, coming_sessions, public_centre, sessions_for


def _public(response):
    response["Cache-Control"] = "public, max-age=300"  # the same page for everyone; changes rarely
    response["Referrer-Policy"] = "no-referrer"
    return response


def _not_found():
    return HttpResponse(render_to_string("404.html"), status=404)


def schedule_url(code: str) -> str:
    """The centre's public schedule page as an absolute address, for posters and messages."""
    return f"{settings.SITE_URL}{reverse('outreach:township', args=[code])}"


def township_page(request, code):
    centre = public_centre(code)
    if centre is None:
        return _not_found()
    context = {"centre": centre, "sessions": coming_sessions(centre), "weeks": PUBLIC_WEEKS, "url": schedule_url(code)}
    return _public(render(request, "outreach/township.html", context))


def township_qr(request, code):
    """The page's address as a QR code (SVG) for a poster."""
    if public_centre(code) is None:
        return _not_found()
    return _public(HttpResponse(qr_image(schedule_url(code), kind="svg"), content_type="image/svg+xml"))


@login_required
def schedule_page(request):
    """The coming PUBLIC_WEEKS weeks of the sessions the user sees, cancelled ones marked; schedule
    managers get the links to add and change them (the admin, which saves through the service)."""
    ensure_capability(request.user, "view_schedule")
    today = timezone.localdate()
    sessions = sessions_for(request.user, date_from=today, date_to=today + timedelta(weeks=PUBLIC_WEEKS))
    context = {
        "sessions": sessions.select_related("expert__institution"),
        "weeks": PUBLIC_WEEKS,
        "can_manage": has_capability(request.user, "manage_schedule"),
    }
    return render(request, "outreach/schedule.html", context)
