"""Write one exercise to a backup file: ``manage.py backup_exercise CODE -o FILE``.

The file (``docs/backup.md``) holds the scenario version, the people and organizations by
name, the whole timeline and record of the run, and its report; ``restore_exercise``
reads it into another database.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exercises.models import Exercise
from scoring.backup import backup_bytes


class Command(BaseCommand):
    help = "Back up one exercise (scenario version, timeline, record, report) as a JSON file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help="The exercise code.")
        parser.add_argument("-o", "--output", type=Path, required=True, help="File to write.")

    def handle(self, *args, code: str, output: Path, **options) -> None:
        exercise = Exercise.objects.select_related("scenario").filter(code=code).first()
        if exercise is None:
            raise CommandError(f"No exercise with code {code}.")
        content = backup_bytes(exercise)
        output.write_bytes(content)
        self.stdout.write(f"Backed up {exercise.name} ({code}) to {output}: {len(content)} bytes.")
