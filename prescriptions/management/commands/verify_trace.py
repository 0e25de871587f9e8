import sys

from django.core.management.base import BaseCommand

from prescriptions.services.integrity import verify_trace


class Command(BaseCommand):
    help = (
        "Check every prescription's keyed hash chain, its head and the anchors; report each problem with "
        "the prescription named; exit 1 if any."
    )

    def handle(self, *args, **options):
        problems, chains, events = verify_trace()
        for problem in problems:
            self.stdout.write(problem)
        summary = f"{chains} chains, {events} events checked, {len(problems)} broken link(s)."
        if problems:
            self.stderr.write(summary)
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(summary))
