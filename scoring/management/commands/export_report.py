"""Write an after-action report to a file: ``manage.py export_report CODE --format xlsx -o FILE``.

``--format stix`` or ``misp`` writes the exercise's shares, relays and requests for
information instead (``scoring.exports.sharing``), with the same full view.

Uses the builders the report page's exports use (``scoring.exports``), with the full view
of the report that the control cell and coordinators get (``scoring/access.py``): whoever
runs management commands already holds the database. ``--team TEAM_CODE`` writes that
team's debrief instead, exactly as one of its players gets it from the report page (the
same rule in ``scoring/access.py``: PDF only).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exercises.models import Exercise, Participant, Team
from scoring.access import DEBRIEF_FORMATS, ReportAccess
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
        parser.add_argument(
            "--team", help="A team's code: write its players' debrief (PDF) instead."
        )

    def handle(self, *args, code: str, fmt: str, output: Path, team: str | None, **options) -> None:
        exercise = Exercise.objects.select_related("scenario").filter(code=code).first()
        if exercise is None:
            raise CommandError(f"No exercise with code {code}.")
        reader = self._reader(exercise, team)
        if fmt in sharing.FORMATS and team is None:
            content = sharing.FORMATS[fmt].render(reader)
        elif fmt not in reader.export_formats:
            raise CommandError(f"A team's debrief is written as {', '.join(DEBRIEF_FORMATS)}.")
        else:
            report_ensure_fresh(exercise=exercise)
            render, _ = exporter(fmt)
            content = render(build_report(reader))
        try:
            output.write_bytes(content)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stdout.write(f"Wrote {output} ({len(content)} bytes, {fmt}).")

    def _reader(self, exercise: Exercise, team_code: str | None) -> ReportAccess:
        """The full view, or a player's of the team ``team_code``."""
        if team_code is None:
            return ReportAccess(exercise, "staff")
        team = (
            Team.objects.select_related("organization", "role")
            .filter(exercise=exercise, code=team_code)
            .first()
        )
        if team is None:
            raise CommandError(f"No team {team_code} in exercise {exercise.code}.")
        return ReportAccess(exercise, Participant.Kind.PLAYER, team)
