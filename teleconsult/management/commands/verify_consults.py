import sys

from django.core.management.base import BaseCommand

from teleconsult.integrity import verify_consults


class Command(BaseCommand):
    help = (
        "Check every remote consult's keyed chain of events; report each problem with the consult named; exit 1 if any."
    )

    def handle(self, *args, **options):
        problems, consults = verify_consults()
        for problem in problems:
            self.stdout.write(problem)
        summary = f"{consults} remote consults checked, {len(problems)} problem(s)."
        if problems:
            self.stderr.write(summary)
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(summary))
