"""Generate a realistic county history of prescriptions, fast (bulk writes, the full trace), and
rebuild the dashboards' rollups over it."""

import sys
import time
from datetime import date

from django.core.management.base import BaseCommand

from catalogue.importer import import_catalogue
from catalogue.models import Formula, FormulaKind
from dashboards.rollups import refresh

from ..history.generate import generate


class Command(BaseCommand):
    help = "Generate N prescriptions of history over a county, with their full keyed trace."

    def add_arguments(self, parser):
        parser.add_argument("--prescriptions", type=int, required=True)
        parser.add_argument("--years", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=1000, help="Prescriptions written per transaction.")
        parser.add_argument(
            "--end",
            type=date.fromisoformat,
            default=None,
            help="The day the history ends (YYYY-MM-DD); default today. The same seed and end give the same history.",
        )

    def handle(self, *args, **options):
        if not Formula.objects.filter(kind=FormulaKind.CLASSICAL).exists():
            import_catalogue()
        end = options["end"] or date.today()
        started = time.perf_counter()
        rows = generate(
            count=options["prescriptions"],
            years=options["years"],
            seed=options["seed"],
            end_day=end,
            batch=options["batch"],
            progress=self.progress,
        )
        elapsed = time.perf_counter() - started
        sys.stderr.write("\n")
        count = options["prescriptions"]
        self.stdout.write(
            f"{rows} rows in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):.0f} rows/s,"
            f" {count / max(elapsed, 1e-9):.0f} prescriptions/s)"
        )
        started = time.perf_counter()
        months = refresh(full=True)["submitted_months"]  # the history is in the past: every month moved
        self.stdout.write(f"Dashboards' rollups rebuilt for {months} months in {time.perf_counter() - started:.1f} s")

    def progress(self, done, total):
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
