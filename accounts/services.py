import secrets
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import Columns, PlainQuery, related_names_sql, split_names

from . import security_log
from .exceptions import TokenRefused
from .models import ApiToken, Institution, TokenRevocation, User
from .permissions import ADMIN_SITE_ROLES, ensure_can_revoke_token
from .roles import Role

# A token's last use is written at most this often: an API call should not be a write each time.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


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


def api_token_issue(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Issue `user` a new API token named `name` (which system holds it), valid for
    TCM_TOKEN_TTL_HOURS. Returns the token and its secret: the secret is not stored (only its
    SHA-256) and cannot be shown again. The user's other tokens stay as they are."""
    secret = secrets.token_hex(20)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API",
        prefix=secret[:8],
        key_hash=ApiToken.hash_of(secret),
        created=now,
        expires=now + timedelta(hours=settings.TCM_TOKEN_TTL_HOURS),
    )
    return token, secret


def api_token_authenticate(*, secret: str) -> ApiToken:
    """The token whose secret is `secret`, with its user, institution and roles (one query), its
    use recorded (to the minute). Raises TokenRefused for an unknown or revoked token, an expired
    one, or one whose user is inactive."""
    now = timezone.now()
    token = _token_with_user(ApiToken.hash_of(secret))
    if token is None or token.revoked is not None:
        raise TokenRefused(_("Invalid token."))
    if not token.usable_at(now):
        raise TokenRefused(_("The token has expired; obtain a new one."))
    if not token.user.is_active:
        raise TokenRefused(_("User inactive or deleted."))
    if token.last_used is None or now - token.last_used >= TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def _token_query():
    token, user, place = columns = [Columns(ApiToken, "k"), Columns(User, "u"), Columns(Institution, "i")]
    roles = related_names_sql(User.groups, "u.id")
    sql = (
        f"SELECT {token}, {user}, {place}, {roles} FROM {token.table} JOIN {user.table} ON u.id = k.user_id"
        f" LEFT JOIN {place.table} ON i.id = u.institution_id WHERE k.key_hash = %s"
    )
    return sql, columns


# The token, its user, the user's institution and role names: one statement in plain SQL (asked on
# every API call).
_TOKEN = PlainQuery(_token_query)


def _token_with_user(key_hash: str) -> ApiToken | None:
    found = _TOKEN.first([key_hash])
    if found is None:
        return None
    token, user, place, roles = found
    user.institution = place if user.institution_id else None
    user._role_codes = frozenset(split_names(roles))  # what User.role_codes would read
    token.user = user
    return token


def api_token_revoke(*, token: ApiToken, actor: User) -> bool:
    """Revoke `token` as `actor`, who must be allowed to manage its user (ensure_can_revoke_token
    raises PermissionDenied). Returns False when it was already revoked (nothing changes)."""
    ensure_can_revoke_token(actor, token)
    revoked = ApiToken.objects.filter(pk=token.pk, revoked__isnull=True).update(
        revoked=timezone.now(), revoked_why=TokenRevocation.ADMINISTRATOR, revoked_by=actor
    )
    return bool(revoked)


def api_tokens_revoke_on_password_change(*, user: User) -> int:
    """Revoke every token `user` holds: their password changed, so whoever held the old one
    loses the API too. Returns how many were revoked. Called for every password change
    (accounts.passwords.TokensEndWithThePassword)."""
    return ApiToken.objects.filter(user=user, revoked__isnull=True).update(
        revoked=timezone.now(), revoked_why=TokenRevocation.PASSWORD_CHANGED
    )
