from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from scenarios.management.commands.import_scenario import (
    add_msel_arguments,
    print_reading,
    read_path,
)


class Command(BaseCommand):
    help = (
        "Check a scenario file (YAML, JSON) or an MSEL (.csv, .xlsx) without importing it, "
        "exactly as import_scenario would read it. Prints every problem and warning; exits "
        "with status 1 if there is a problem. Needs no database: criteria are checked "
        "against the loaded rubric, else the shipped fixtures/rubric/<key>.yaml."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        add_msel_arguments(parser)

    def handle(self, *args, path: Path, **options) -> None:
        reading = read_path(path, options)
        print_reading(self, reading, path, errors_to_stdout=True)
        if reading.errors:
            self.stderr.write(f"{len(reading.errors)} problem(s) in {path}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"{path}: valid"))
