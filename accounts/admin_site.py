from django.contrib import admin

from . import security_log


class AdminSite(admin.AdminSite):
    """Django's admin site, with a change of one's own password on its "change password" page
    written to the security log like every other password change."""

    def password_change(self, request, extra_context=None):
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:  # saved; a refused form is shown again
            security_log.password_changed(user=request.user, actor=request.user, request=request)
        return response
