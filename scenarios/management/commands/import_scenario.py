from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from scenarios.formats.files import FileReading, MselOptions, import_reading, read_file
from scenarios.formats.msel import DEFAULT_TIME_MODEL, TIME_MODELS


class Command(BaseCommand):
    help = (
        "Import a scenario file (YAML or JSON), or an MSEL spreadsheet (.csv/.xlsx) as a linear "
        "draft. All-or-nothing: an invalid file changes nothing and every problem is printed. "
        "The same reading as the web import (scenarios/formats/files.py)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--draft", action="store_true", help="Import as a draft.")
        add_msel_arguments(parser)

    def handle(self, *args, path: Path, draft: bool, **options) -> None:
        reading = read_path(path, options)
        print_reading(self, reading, path)
        if reading.errors:
            raise CommandError(f"{len(reading.errors)} problem(s); nothing imported")
        scenario, created = import_reading(reading, publish=not draft)
        state = "published" if scenario.is_published else "draft"
        if created:
            message = f"Imported {scenario.key} v{scenario.version} ({state})."
        else:
            message = f"Unchanged: {scenario.key} v{scenario.version} ({state}) has this content."
        self.stdout.write(self.style.SUCCESS(message))


def add_msel_arguments(parser) -> None:
    msel = parser.add_argument_group("MSEL files (.csv, .xlsx)")
    msel.add_argument("--key", help="Scenario key (default: from the file name).")
    msel.add_argument("--title", help="Scenario title (default: from the file name).")
    msel.add_argument("--rubric", help="Rubric key for the Criteria and objective columns.")
    models = "; ".join(f"{name}: {text}" for name, text in TIME_MODELS.items())
    msel.add_argument(
        "--time-model",
        choices=tuple(TIME_MODELS),
        help=f"How the time column counts ({models}). Default: {DEFAULT_TIME_MODEL}, or "
        "stage for Cascade's own 'Time into Stage' column.",
    )
    msel.add_argument("--start", default="", help="Clock model: the start time (H:MM).")


def read_path(path: Path, options: dict) -> FileReading:
    """The file at ``path`` read as the web import reads an upload."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error}") from error
    msel = MselOptions(
        title=options.get("title") or path.stem.replace("-", " ").replace("_", " ").title(),
        key=options.get("key") or slugify(path.stem)[:60] or "msel",
        rubric_key=options.get("rubric"),
        time_model=options.get("time_model"),
        start=options.get("start") or "",
    )
    return read_file(data, filename=path.name, msel=msel)


def print_reading(
    command: BaseCommand, reading: FileReading, path: Path, *, errors_to_stdout: bool = False
) -> None:
    """Report lines and warnings to stdout, errors to stderr (or stdout), naming the file."""
    for line in reading.report:
        command.stdout.write(f"{path}: {line}")
    for line in reading.conditional:
        command.stdout.write(f"{path}: conditional, imported as manual: {line}")
    for warning in reading.warnings:
        command.stdout.write(command.style.WARNING(f"{path}: warning: {warning}"))
    for error in reading.errors:
        (command.stdout if errors_to_stdout else command.stderr).write(f"{path}: {error}")
