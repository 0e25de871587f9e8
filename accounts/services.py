from django.contrib.auth.models import Group
from django.db import transaction

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
