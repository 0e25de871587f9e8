"""DRF adapter over accounts.permissions: the API asks the same capability table as the pages."""

from rest_framework.permissions import BasePermission

from accounts.permissions import has_capability


class CapabilityPermission(BasePermission):
    capability = ""

    @classmethod
    def of(cls, capability: str):
        return type(f"Can_{capability}", (cls,), {"capability": capability})

    def has_permission(self, request, view):
        return has_capability(request.user, self.capability)
