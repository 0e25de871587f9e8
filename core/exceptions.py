"""Domain errors every app raises and one place maps to HTTP: `core.api.exception_handler` for
the API, `core.middleware.ExceptionAnswersMiddleware` for pages. Django's own PermissionDenied (403),
Http404 (404) and ValidationError (400, with field paths) complete the set."""


class Conflict(Exception):
    """The request clashes with the object's current state (HTTP 409): a step out of order,
    someone else moved first, a claim held by another. `message` is shown to the person."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        return self._message or str(self)
