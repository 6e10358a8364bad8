from __future__ import annotations

import sys
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from scenarios.formats import ScenarioFormatError, load_document, validate_document
from scenarios.formats.fixtures import fixtures_dir
from scenarios.models import Rubric


class Command(BaseCommand):
    help = (
        "Check a scenario file (YAML or JSON) without importing it. Prints each problem on its "
        "own line and exits with status 1 if there is any. Criteria are checked against the "
        "named rubric: the loaded one, else the shipped file fixtures/rubric/<key>.yaml."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        try:
            doc = load_document(text, filename=path.name)
            errors = validate_document(doc, criteria=self._criteria(doc.get("rubric")))
        except ScenarioFormatError as error:
            errors = error.errors
        for error in errors:
            self.stdout.write(f"{path}: {error}")
        if errors:
            self.stderr.write(f"{len(errors)} problem(s) in {path}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"{path}: valid"))

    def _criteria(self, key: object) -> set[str] | None:
        """Criterion keys of the named rubric; None (not checked) when it cannot be found."""
        if not isinstance(key, str):
            return set()
        rubric = Rubric.objects.filter(key=key).first()
        if rubric is not None:
            return set(rubric.criteria.values_list("key", flat=True))
        shipped = fixtures_dir() / "rubric" / f"{key}.yaml"
        if shipped.is_file():
            data = yaml.safe_load(shipped.read_text(encoding="utf-8")) or {}
            return {item["key"] for item in data.get("criteria", []) if isinstance(item, dict)}
        self.stderr.write(f"warning: rubric '{key}' is not loaded; criteria were not checked")
        return None
