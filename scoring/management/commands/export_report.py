"""Write an after-action report to a file: ``manage.py export_report CODE --format xlsx -o FILE``.

``--format stix`` or ``misp`` writes the exercise's shares, relays and requests for
information instead (``scoring.exports.sharing``), with the same full view.

Uses the builders the report page's exports use (``scoring.exports``), with the full view
of the report that the control cell and coordinators get (``scoring/access.py``): whoever
runs management commands already holds the database.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exercises.models import Exercise
from scoring.access import ReportAccess
from scoring.exports import exporter, sharing
from scoring.models import ReportExport
from scoring.report import build_report
from scoring.services import report_ensure_fresh


class Command(BaseCommand):
    help = (
        "Export the after-action report of one exercise as PDF, XLSX, CSV (zip) or JSON, "
        "or what was shared in it as STIX 2.1 or MISP."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help="The exercise code.")
        parser.add_argument(
            "--format",
            dest="fmt",
            required=True,
            choices=[*ReportExport.Format.values, *sharing.FORMATS],
        )
        parser.add_argument("-o", "--output", type=Path, required=True, help="File to write.")

    def handle(self, *args, code: str, fmt: str, output: Path, **options) -> None:
        exercise = Exercise.objects.select_related("scenario").filter(code=code).first()
        if exercise is None:
            raise CommandError(f"No exercise with code {code}.")
        full = ReportAccess(exercise, "staff")
        if fmt in sharing.FORMATS:
            content = sharing.FORMATS[fmt].render(full)
        else:
            report_ensure_fresh(exercise=exercise)
            render, _ = exporter(fmt)
            content = render(build_report(full))
        try:
            output.write_bytes(content)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stdout.write(f"Wrote {output} ({len(content)} bytes, {fmt}).")
