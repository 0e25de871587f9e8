from . import security_log

# The patient's tracking page and its JSON: a 403 there is a wrong answer to the question of the
# mobile's last 4 digits, not a permission refused, and the path carries the patient's token. The
# tracking service logs its lockouts itself.
NOT_PERMISSION_CHECKS = {("tracking", "track"), ("", "api-track")}


class PermissionDeniedLogMiddleware:
    """Every 403 the site answers — a page's PermissionDenied, an API refusal, a failed CSRF check
    — goes to the security log with who asked, from where, the method and the path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            match = getattr(request, "resolver_match", None)
            if match is None or (match.namespace, match.url_name) not in NOT_PERMISSION_CHECKS:
                security_log.permission_denied(request)
        return response
