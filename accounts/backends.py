from django.contrib.auth.backends import ModelBackend

from .permissions import permission_allowed


class RoleTableBackend(ModelBackend):
    """Django's model permissions (the role groups', given by sync_role_groups) as far as the role
    table lets the user use them now (accounts.permissions.permission_allowed): the admin's every
    "may I add/change/delete/view?" answers from the one table, scope rules included."""

    def has_perm(self, user_obj, perm, obj=None):
        return super().has_perm(user_obj, perm, obj) and permission_allowed(user_obj, perm)
