from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Django's login form, refusing a username longer than a username can be as a wrong login,
    before anything looks it up: AuthenticationForm puts the length only on the widget, and
    django-axes would try to store the username of the failed attempt in a 255-character column."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if len(username) > self.username_field.max_length:
            raise self.get_invalid_login_error()
        return super().clean()
