import logging

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.functional import SimpleLazyObject, empty
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .input import MAX_FORM_VALUE, MAX_QUERY_VALUE, InputRefused, check_query, check_text
from .uploads import UploadTooLarge, declared_length, too_large_message, upload_limit

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


class ExceptionAnswersMiddleware:
    """What the site answers for an expected failure, in one layer (one wrapper per request):

    - While the database is unreachable (a restart, a failover): 503 with Retry-After — JSON for
      the API, the view's own format where it has one (view_answer), a short page otherwise —
      never a 500 with a trace, from a view or from any middleware inside this one. Nothing was
      written: the request's transaction never committed.
    - A Conflict no page handled itself: a 409 page in the site's layout with the message and a
      way back, never a 500 (the API's is core.api.exception_handler). PermissionDenied and
      Http404 are Django's own 403 and 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            return self.unavailable(request, exc)

    def process_exception(self, request, exception):
        from .exceptions import Conflict

        if isinstance(exception, (OperationalError, InterfaceError)):
            return self.unavailable(request, exception)
        if isinstance(exception, Conflict) and not request.path.startswith("/api/"):
            return refusal_page(request, exception.message, status=409)
        return None

    @staticmethod
    def unavailable(request, exc):
        # One line, no traceback: an expected outage, and a traceback in the logs means a bug.
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, str(exc).strip())
        message = _("The service is briefly unavailable; please try again in a moment.")
        response = view_answer(request, status=503, message=str(message))
        if response is None and request.path.startswith("/api/"):
            response = JsonResponse({"detail": str(message), "errors": {}}, status=503)
        elif response is None:
            response = HttpResponse(
                f"<!doctype html><meta charset=utf-8><title>503</title><p>{message}</p>", status=503
            )
        response["Retry-After"] = "5"
        return response


def view_answer(request, *, status: int, message: str):
    """A refusal made before any view runs, in the format of the view the path leads to, when that
    view's class says how (`answer_refusal(request, status=..., message=...)`: the FHIR API answers
    with an OperationOutcome); None for any other path, which gets the answers below."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    answer = getattr(getattr(match.func, "cls", None), "answer_refusal", None)
    return None if answer is None else answer(request, status=status, message=message)


def refusal_page(request, message, *, status: int):
    """A page in the site's layout with the message and a way back (to the referring page of this
    site, else home)."""
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return render(request, "409.html", {"message": message, "back": back}, status=status)


class UploadLimitMiddleware:
    """A body over settings.MAX_UPLOAD_BYTES is refused with a 413 — JSON for the API, a page
    otherwise — before a byte of it is read when its Content-Length says so, and as soon as the
    counted file data passes the limit when the length was absent or false (core.uploads). A
    page's multipart form is parsed here, before CSRF would parse it in a place that could only
    answer 500; the API parses its own inside the view, and process_exception answers for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if declared_length(request.META) > upload_limit():
            return self.too_large(request)
        if (
            request.method == "POST"
            and request.content_type == "multipart/form-data"
            and not request.path.startswith("/api/")
        ):
            try:
                request.FILES  # noqa: B018 - parsing the form here is the point
            except UploadTooLarge:
                return self.too_large(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        return self.too_large(request) if isinstance(exception, UploadTooLarge) else None

    @staticmethod
    def too_large(request):
        message = too_large_message()
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "errors": {}}, status=413)
        return refusal_page(request, message, status=413)


class ResponseHeadersMiddleware:
    """The headers every response the application renders carries, set in one layer, after
    whitenoise (static files keep their own long caching):

    - Content-Security-Policy: everything from this site, no inline scripts (the pages have
      none); the API docs page (Swagger UI's own template) and the admin may run inline scripts.
    - Cache-Control: no-store, unless the view chose a policy of its own (the photo views:
      `private, no-store`). Pages and the API carry patients' data, and the tracking page a
      masked name and a stage to whoever holds the link; a blanket default cannot be forgotten
      by a new view, and it holds for token-authenticated API calls, whose user is known only
      inside the view. Nothing is kept by a browser, a shared clinic computer's disk or a proxy.
    (X-Frame-Options stays Django's own clickjacking middleware, which `check --deploy` looks for.)"""

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
        headers = response.headers
        policy = self.DOCS_POLICY if request.path.startswith(("/api/docs/", "/admin/")) else self.POLICY
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("Cache-Control", "no-store")
        return response


class HeaderCleaningMiddleware:
    """The headers' side of the input-cleaning layer, first of all middleware, before the session
    is looked up: a cookie carrying a NUL (or another control character) is dropped, as if the
    browser had sent none (a session id with a NUL would reach the database, which refuses it);
    any other header carrying a NUL (an Authorization or Idempotency-Key) is a 400."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name in [name for name, value in request.COOKIES.items() if not (name + value).isprintable()]:
            del request.COOKIES[name]
        header = next((key for key, value in request.META.items() if key.startswith("HTTP_") and "\x00" in value), None)
        if header is not None:
            name = header.removeprefix("HTTP_").replace("_", "-").title()
            message = _("The %(header)s header contains a NUL character, which is not allowed.") % {"header": name}
            answer = view_answer(request, status=400, message=message)
            if answer is not None:
                return answer
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message, "errors": {name: [message]}}, status=400)
            return HttpResponse(f"<!doctype html><meta charset=utf-8><title>400</title><p>{message}</p>", status=400)
        return self.get_response(request)


class InputCleaningMiddleware:
    """The page and query side of the one input-cleaning layer (core.input): a NUL, an unpaired
    surrogate or an over-long value in the path, the query string or a page's form data is a 400
    before any view sees it — JSON at the field for the API, the view's own format where it has
    one (view_answer), a page in the site's layout otherwise. The API's bodies are checked by its
    parsers (core.input), when a view reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_text("", request.path)
            check_query(request.GET, limit=MAX_QUERY_VALUE)
        except InputRefused as exc:
            return self.refused(request, exc)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or hasattr(view_func, "cls"):  # DRF's views: core.input's parsers
            return None
        try:
            check_query(request.POST, limit=MAX_FORM_VALUE)
        except InputRefused as exc:
            return self.refused(request, exc)
        return None

    @staticmethod
    def refused(request, exc: InputRefused):
        answer = view_answer(request, status=400, message=str(exc))
        if answer is not None:
            return answer
        if request.path.startswith("/api/"):
            errors = {path: messages for path, messages in exc.errors.items() if path}
            return JsonResponse(
                {"detail": _("The request has invalid fields."), "errors": errors},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return render(request, "400.html", {"errors": exc.errors}, status=400)


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with their storage made when a page first uses it. The API and the
    tracking page never do, and making it on every request (a cookie signer and the session's
    store) was a third of what the middleware cost a request."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # nothing was read or added
        return super().process_response(request, response)
