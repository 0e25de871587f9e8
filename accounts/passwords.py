"""What a password change does besides changing the password.

Django calls `password_changed()` of each configured password validator from `User.save()`
after `set_password()`: the admin's set-password page, one's own change-password page,
`manage.py changepassword` and `createsuperuser`, a service or a shell. Listed last in
AUTH_PASSWORD_VALIDATORS, this hook ends the user's API tokens on every one of those paths, and
on none of the others: a password hash upgraded at sign-in (check_password) is not a change."""

from django.utils.translation import gettext as _

from .services import api_tokens_revoke_on_password_change


class TokensEndWithThePassword:
    """Not a rule for passwords (it accepts every one): a new password revokes the user's API
    tokens, and its help text tells whoever sets it."""

    def validate(self, password, user=None):
        return None

    def password_changed(self, password, user=None):
        if user is not None and user.pk:
            api_tokens_revoke_on_password_change(user=user)

    def get_help_text(self):
        return _("Changing the password revokes the account's API tokens; systems using them need a new one.")
