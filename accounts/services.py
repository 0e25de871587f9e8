from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.models import Group
from django.db import transaction

from . import security_log
from .models import Institution, User
from .permissions import ADMIN_SITE_ROLES
from .roles import Role


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str]) -> User:
    """Give `user` exactly these roles. Administrators become staff of the admin site."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValueError(f"Unknown roles: {sorted(unknown)}")
    user.groups.set(Group.objects.filter(name__in=roles))
    is_staff = user.is_superuser or bool(ADMIN_SITE_ROLES & set(roles))
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_role_codes", None)
    return user


def institution_save(*, institution: Institution) -> Institution:
    """Validate the tree rules (Institution.clean) and save."""
    institution.full_clean()
    institution.save()
    return institution


def password_confirm(*, user: User, password: str, request=None) -> str:
    """Check `password`, asked of `user` again to sign for something (the double signature), as
    the sign-in checks it: "right", "wrong", or "locked" while django-axes locks the user out from
    this client (`request`; none from a command), whatever the password. A wrong or locked answer
    is in the security log. A wrong one must then be counted with password_failed."""
    credentials = {"username": user.get_username()}
    if request is not None and not AxesProxyHandler.is_allowed(request, credentials):
        security_log.signature_failed(user=user, request=request, locked=True)
        return "locked"
    if password and user.check_password(password):
        return "right"
    security_log.signature_failed(user=user, request=request, locked=False)
    return "wrong"


def password_failed(*, user: User, request=None) -> None:
    """Count a wrong password_confirm towards django-axes's sign-in lockout of `user` from this
    client, as a failed sign-in counts; at the limit the user is locked out of both. Call it after
    the caller's transaction rolled back (inside it, the count would roll back too)."""
    if request is not None:
        AxesProxyHandler.user_login_failed(
            sender=password_failed, credentials={"username": user.get_username()}, request=request
        )
