"""Restore an exercise from a backup file: ``manage.py restore_exercise FILE [--new-code]``.

All-or-nothing; refuses a file it cannot read (size, shape, version: ``docs/backup.md``)
and an exercise code that exists here unless ``--new-code``.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scoring.backup import BackupError, read_backup, restore_document


class Command(BaseCommand):
    help = "Restore one exercise from a file written by backup_exercise."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The backup file.")
        parser.add_argument(
            "--new-code",
            action="store_true",
            help="Give the exercise (and its teams, RFIs, observations, plan rows) new codes.",
        )

    def handle(self, *args, file: Path, new_code: bool, **options) -> None:
        try:
            with file.open("rb") as stream:
                result = restore_document(read_backup(stream), new_code=new_code)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except BackupError as error:
            raise CommandError(f"Not restored: {error}.") from None
        exercise = result.exercise
        scenario = "reused" if result.scenario_reused else "imported"
        self.stdout.write(
            f"Restored {exercise.name} as {exercise.code}: scenario "
            f"{exercise.scenario.key} v{exercise.scenario.version} {scenario}, "
            f"{exercise.events.count()} events."
        )
        if result.created_organizations:
            self.stdout.write(f"Organizations created: {', '.join(result.created_organizations)}.")
        if result.placeholder_users:
            self.stdout.write(
                "Inactive placeholder accounts created (activate them in the admin, then "
                f"they reset their password): {', '.join(result.placeholder_users)}."
            )
        for warning in result.warnings:
            self.stderr.write(f"Warning: {warning}")
