import time

from django.core.management.base import BaseCommand

from dashboards.rollups import refresh


class Command(BaseCommand):
    help = "Rebuild the dashboards' rollups: the months that moved since the last refresh, or all (--full)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="rebuild every month (after writing history)")

    def handle(self, *args, full=False, **options):
        started = time.perf_counter()
        counts = refresh(full=full)
        self.stdout.write(f"{counts['submitted_months']} months rebuilt in {time.perf_counter() - started:.1f} s")
