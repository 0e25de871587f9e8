import json
import sys

from django.core.management.base import BaseCommand

from rules import engine
from rules.drafts import DraftError, parse_draft
from rules.services import live_snapshot


class Command(BaseCommand):
    help = (
        "Audit prescriptions given as JSON (one object or a list) from PATH or '-' for stdin; print the "
        "findings as JSON. Exit 2 on malformed input."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="a JSON file, or - for standard input")

    def fail(self, message):
        self.stderr.write(f"audit_check: {message}")
        sys.exit(2)

    def handle(self, *args, path, **options):
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as exc:
            self.fail(f"cannot read {path}: {exc.strerror}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        many = isinstance(data, list)
        try:
            drafts = [parse_draft(entry, f"[{i}]") for i, entry in enumerate(data)] if many else [parse_draft(data)]
        except DraftError as exc:
            self.fail(f"malformed prescription: {exc}")
        rules = live_snapshot()
        results = [
            {"findings": [finding.as_dict() for finding in engine.audit(draft, patient, rules)]}
            for draft, patient in drafts
        ]
        self.stdout.write(json.dumps(results if many else results[0], ensure_ascii=False, indent=2))
