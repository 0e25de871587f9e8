from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.exceptions import Conflict


class InvalidTransition(Conflict):
    """The workflow table has no such move (for this prescription or this actor)."""

    def __init__(self, current, to, why=""):
        self.current, self.to, self.why = current, to, why
        Exception.__init__(self, f"{current} → {to} is not allowed{': ' + why if why else ''}")

    @property
    def message(self):
        from .workflow import Stage

        label = Stage(self.current).label if self.current in Stage.values else self.current
        target = Stage(self.to).label if self.to in Stage.values else self.to
        return _("“%(step)s” is not possible now: the prescription is at “%(status)s”.") % {
            "step": target,
            "status": label,
        }


class ConcurrentTransition(Conflict):
    """Someone else changed the prescription's status first."""

    def __init__(self, current, to):
        self.current, self.to = current, to
        Exception.__init__(self, f"{current} → {to}: the status changed meanwhile")

    @property
    def message(self):
        return _("Someone else has just changed this prescription; reload and check.")


class SignatureRefused(ValidationError):
    """The double signature did not hold: a ValidationError with its field errors, and whether a
    wrong password was given (it counts towards the sign-in lockout once the submit rolled back)."""

    def __init__(self, errors, *, wrong_password: bool):
        super().__init__(errors)
        self.wrong_password = wrong_password
