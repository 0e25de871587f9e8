from django.core.management.base import BaseCommand, CommandError

from prescriptions.services.integrity import anchor_trace


class Command(BaseCommand):
    help = (
        "Append a keyed anchor of every trace chain's head to the anchor file (TCM_TRACE_ANCHOR_PATH) "
        "and send it to TCM_TRACE_ANCHOR_URL when set. Run daily (the beat does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", help="the anchor file (default: settings.TCM_TRACE_ANCHOR_PATH)")

    def handle(self, *args, **options):
        try:
            record = anchor_trace(path=options.get("path"))
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"anchor {record['n']}: {record['prescriptions']} chains, {record['events']} events, "
            f"{len(record['heads'])} heads changed, root {record['root'][:12]}…"
        )
