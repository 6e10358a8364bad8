from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scenarios.formats import dump_document, export_document
from scenarios.formats.msel import msel_export
from scenarios.models import Scenario

FORMATS = ("yaml", "json", "msel-csv", "msel-xlsx")


class Command(BaseCommand):
    help = "Export a scenario version as YAML, JSON or an MSEL (CSV/XLSX)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        # Our --version (of the scenario) replaces Django's (of Django).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("key")
        parser.add_argument("--version", type=int, help="Default: the latest version.")
        parser.add_argument("--format", choices=FORMATS, default="yaml")
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: stdout).")

    def handle(self, *args, key: str, version: int | None, format: str, output, **options):
        versions = Scenario.objects.filter(key=key).order_by("-version")
        scenario = versions.filter(version=version).first() if version else versions.first()
        if scenario is None:
            which = f" version {version}" if version else ""
            raise CommandError(f"no scenario '{key}'{which}")
        data = self._render(scenario, format)
        if output is not None:
            output.write_bytes(data)
            self.stderr.write(f"Wrote {scenario.key} v{scenario.version} to {output}")
        elif format == "msel-xlsx":
            raise CommandError("an XLSX export needs -o FILE")
        else:
            self.stdout.write(data.decode("utf-8"), ending="")

    def _render(self, scenario: Scenario, fmt: str) -> bytes:
        if fmt.startswith("msel-"):
            return msel_export(scenario, fmt.removeprefix("msel-"))
        return dump_document(export_document(scenario), fmt).encode("utf-8")
