from django.conf import settings
from django.utils import translation


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
