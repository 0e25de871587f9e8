"""What `make demo` prints last, after the worker has started and before the web server: where the
site is, the logins and one patient tracking link."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import Institution
from accounts.roles import Role
from prescriptions.models import Prescription
from prescriptions.workflow import Stage

from ..demo_data import DEMO_PASSWORD, USERS

RULE = "=" * 72


class Command(BaseCommand):
    help = "Print the demo's address, logins and one patient tracking link."

    def handle(self, *args, **options):
        names = dict(Institution.objects.values_list("code", "name"))
        shown = Prescription.objects.filter(status=Stage.SHIPPED).exclude(tracking_token=None).order_by("pk").first()
        lines = [
            RULE,
            f"Demo ready at {settings.SITE_URL}/",
            f"Logins (password for all: {DEMO_PASSWORD}):",
        ]
        for username, name, code, roles in USERS:
            label = "、".join(str(Role(role).label) for role in roles) or "superuser"
            lines.append(f"  {username:<12} {name}  {names.get(code, code)}  [{label}]")
        if shown:
            lines.append(f"Patient tracking page (on its way): {shown.tracking_url}")
        lines.append(f"Visiting-expert schedule of a township (public): {settings.SITE_URL}/outreach/T001/")
        lines.append(RULE)
        self.stdout.write("\n".join(lines))
