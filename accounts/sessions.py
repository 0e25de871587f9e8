"""Page sessions end after their role's idle time (accounts.roles.SESSION_IDLE_SETTING).

Each request of a signed-in page session counts as activity and moves the session's last
activity on (written at most once a minute, so a page's requests are not each a session write).
A request after the idle time signs the user out: a page is sent to the sign-in page, which says
why and returns to the page after signing in; an API request goes on as anonymous and gets the
API's JSON refusal. Token-authenticated API calls have no session and are not affected."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from .roles import SESSION_IDLE_SETTING

LAST_ACTIVITY = "tcm_last_activity"  # epoch seconds, in the session
RESOLUTION = timedelta(minutes=1)


def signed_in(sender, request, user, **kwargs):
    """A sign-in is activity: the session starts with it (no write on its first page)."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY] = timezone.now().timestamp()


def idle_minutes(user) -> int:
    """The idle time of `user`'s sessions: the shortest of their roles' (the clinical one without a role)."""
    names = {SESSION_IDLE_SETTING[role] for role in user.role_codes if role in SESSION_IDLE_SETTING}
    return min((getattr(settings, name) for name in names), default=settings.TCM_SESSION_IDLE_MINUTES)


class SessionIdleTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            last = request.session.get(LAST_ACTIVITY)
            minutes = idle_minutes(request.user)
            if last is not None and now - last > minutes * 60:
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(
                        request,
                        _("You were idle for %(minutes)d minutes and have been signed out; please sign in again.")
                        % {"minutes": minutes},
                    )
                    # Back to the page after signing in; a form posted after the idle time is not replayed.
                    if request.method == "GET":
                        return redirect_to_login(request.get_full_path())
                    return redirect(settings.LOGIN_URL)
            elif last is None or now - last >= RESOLUTION.total_seconds():
                request.session[LAST_ACTIVITY] = now
        return self.get_response(request)
