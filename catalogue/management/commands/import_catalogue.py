from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogue.importer import DATA_DIR, ImportErrorReport, import_catalogue


class Command(BaseCommand):
    help = "Import the herb catalogue, aliases and rule lists from the CSV files shipped in catalogue/data/."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=DATA_DIR, help="folder laid out like catalogue/data/")

    def handle(self, *args, dir: Path, **options):
        try:
            summary = import_catalogue(dir)
        except ImportErrorReport as report:
            raise CommandError(
                f"Nothing was imported: {len(report.errors)} problem(s) in {dir}\n" + "\n".join(report.errors)
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalogue imported: {summary.herbs_created} herbs created, {summary.herbs_updated} updated "
                f"({summary.herbs_unverified} need verifying again), {summary.aliases} aliases, "
                f"{summary.bare_names} bare names, "
                f"{summary.incompatibility_rules} incompatibility rules, {summary.toxic_entries} toxic-list entries, "
                f"{summary.pregnancy_cautions} pregnancy cautions, {summary.formulas} classical formulas."
            )
        )
