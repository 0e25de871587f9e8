"""The one size limit of a request body, and so of every upload: `settings.MAX_UPLOAD_BYTES`.

`core.middleware.UploadLimitMiddleware` refuses a body whose Content-Length passes it before a
byte is read. `LimitedUploadHandler` counts the bytes of the files of a multipart body while the
parser streams them, for a body whose length was absent or false (an ASGI server hands Django the
whole body whatever the header said); it raises `UploadTooLarge` once they pass the limit, which
the middleware answers with the same 413."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _


class UploadTooLarge(Exception):
    """The request body is over settings.MAX_UPLOAD_BYTES."""


def upload_limit() -> int:
    return settings.MAX_UPLOAD_BYTES


def too_large_message() -> str:
    return _("The upload is larger than %(mb)s MB; choose or take a smaller photo.") % {
        "mb": f"{upload_limit() / (1024 * 1024):g}"
    }


def declared_length(meta) -> int:
    """The body length the client announced; 0 when absent or not a number (Django then reads no
    body at all under WSGI)."""
    try:
        return max(int(meta.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


class LimitedUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: passes file data on to the next handler, counting it."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        if content_length > upload_limit():
            raise UploadTooLarge

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > upload_limit():
            raise UploadTooLarge
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler makes the file
