from django.utils.translation import gettext as _


class InvalidTransition(Exception):
    """The workflow table has no such move (for this prescription or this actor)."""

    def __init__(self, current, to, why=""):
        self.current, self.to, self.why = current, to, why
        super().__init__(f"{current} → {to} is not allowed{': ' + why if why else ''}")

    @property
    def message(self):
        return _("This step is not possible now (the prescription is %(status)s).") % {"status": self.current}


class ConcurrentTransition(Exception):
    """Someone else changed the prescription's status first."""

    def __init__(self, current, to):
        self.current, self.to = current, to
        super().__init__(f"{current} → {to}: the status changed meanwhile")

    @property
    def message(self):
        return _("Someone else has just changed this prescription; reload and check.")
