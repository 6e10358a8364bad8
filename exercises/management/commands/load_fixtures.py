from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exercises.scenario_format import ScenarioFormatError
from exercises.scenario_format.fixtures import load_fixtures
from scoring.rubrics import RubricFormatError


class Command(BaseCommand):
    help = "Load the shipped rubric and scenarios from fixtures/ (safe to run repeatedly)."

    def handle(self, *args, **options) -> None:
        try:
            for line in load_fixtures():
                self.stdout.write(line)
        except (ScenarioFormatError, RubricFormatError) as error:
            raise CommandError(f"a shipped fixture is invalid:\n{error}") from error
        self.stdout.write(self.style.SUCCESS("Fixtures loaded."))
