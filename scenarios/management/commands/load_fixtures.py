from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from scenarios.formats import ScenarioFormatError
from scenarios.formats.fixtures import load_fixtures
from scenarios.rubrics import RubricFormatError


class Command(BaseCommand):
    help = "Load the shipped rubric and scenarios from fixtures/ (safe to run repeatedly)."

    def handle(self, *args, **options) -> None:
        try:
            for line in load_fixtures():
                self.stdout.write(line)
        except (ScenarioFormatError, RubricFormatError) as error:
            raise CommandError(f"a shipped fixture is invalid:\n{error}") from error
        self.stdout.write(self.style.SUCCESS("Fixtures loaded."))
