from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from scenarios.formats import ScenarioFormatError, import_scenario
from scenarios.formats.msel import msel_import

MSEL_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


class Command(BaseCommand):
    help = (
        "Import a scenario file (YAML or JSON), or an MSEL spreadsheet (.csv/.xlsx) as a linear "
        "draft. All-or-nothing: an invalid file changes nothing and every problem is printed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--draft", action="store_true", help="Import as a draft.")
        msel = parser.add_argument_group("MSEL files (.csv, .xlsx)")
        msel.add_argument("--key", help="Scenario key (default: from the file name).")
        msel.add_argument("--title", help="Scenario title (default: from the file name).")
        msel.add_argument("--rubric", help="Rubric key for the objective/capability column.")

    def handle(self, *args, path: Path, draft: bool, **options) -> None:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        try:
            scenario = self._import(path, data, draft=draft, options=options)
        except ScenarioFormatError as error:
            for problem in error.errors:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(f"{len(error.errors)} problem(s); nothing imported") from error
        state = "published" if scenario.is_published else "draft"
        self.stdout.write(
            self.style.SUCCESS(f"Imported {scenario.key} v{scenario.version} ({state}).")
        )

    def _import(self, path: Path, data: bytes, *, draft: bool, options: dict):
        fmt = MSEL_FORMATS.get(path.suffix.lower())
        if fmt is None:
            return import_scenario(data, filename=path.name, publish=not draft)
        # An MSEL has no branches yet: it always becomes a draft for the editor.
        return msel_import(
            data,
            fmt=fmt,
            title=options.get("title") or path.stem.replace("-", " ").replace("_", " ").title(),
            key=options.get("key") or slugify(path.stem)[:60] or "msel",
            rubric_key=options.get("rubric"),
        )
