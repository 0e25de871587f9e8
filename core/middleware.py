import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class LanguageMiddleware:
    """Simplified Chinese unless the user picked another language with the switcher (cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, which on shared
    clinic computers is often English; the platform must open in Chinese."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class DatabaseUnavailableMiddleware:
    """While the database is unreachable (a restart, a failover), answer 503 with Retry-After —
    JSON for the API, a short page otherwise — never a 500 with a trace. Nothing was written:
    the request's transaction never committed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError):
            logger.warning("database unavailable for %s %s", request.method, request.path, exc_info=True)
            return self.unavailable(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            logger.warning("database unavailable for %s %s", request.method, request.path, exc_info=True)
            return self.unavailable(request)
        return None

    @staticmethod
    def unavailable(request):
        message = _("The service is briefly unavailable; please try again in a moment.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": str(message), "errors": {}}, status=503)
        else:
            response = HttpResponse(
                f"<!doctype html><meta charset=utf-8><title>503</title><p>{message}</p>", status=503
            )
        response["Retry-After"] = "5"
        return response


class ContentSecurityPolicyMiddleware:
    """Everything comes from this site; no inline scripts (the pages have none). The API docs page
    (Swagger UI's own template) is the one page allowed an inline script."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    DOCS_POLICY = POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = self.DOCS_POLICY if request.path.startswith(("/api/docs/", "/admin/")) else self.POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
