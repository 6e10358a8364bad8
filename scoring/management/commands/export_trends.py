"""Write trends across exercises to a file:
``manage.py export_trends --format csv|xlsx|json -o FILE [--rubric KEY] [--by sector]
[--per group] [--organization CODE] [--sector SECTOR] [--group GROUP]``.

The builders of the trends page's downloads (``scoring.exports.trends``), with every
organization of every ended exercise (whoever runs management commands already holds the
database); each exercise's stored scores are brought up to date first.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization, Sector
from scenarios.models import Criterion
from scoring.access import TrendScope
from scoring.exports.trends import FORMATS
from scoring.services import report_ensure_fresh
from scoring.trends import BY_ORGANIZATION, BY_SECTOR, PER_CRITERION, PER_GROUP
from scoring.trends_collect import TrendFilter, trend_rubrics, trend_view

EVERYTHING = TrendScope(True, frozenset(), frozenset())


class Command(BaseCommand):
    help = "Export trends across the ended exercises of one rubric as CSV, XLSX or JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", dest="fmt", required=True, choices=list(FORMATS))
        parser.add_argument("-o", "--output", type=Path, required=True, help="File to write.")
        parser.add_argument("--rubric", help="Rubric key (needed when several have trends).")
        parser.add_argument("--by", choices=[BY_ORGANIZATION, BY_SECTOR], default=BY_ORGANIZATION)
        parser.add_argument("--per", choices=[PER_CRITERION, PER_GROUP], default=PER_CRITERION)
        parser.add_argument("--organization", help="Organization code.")
        parser.add_argument("--sector", choices=Sector.values, default="")
        parser.add_argument("--group", choices=Criterion.Group.values, default="")

    def handle(self, *args, fmt: str, output: Path, **options) -> None:
        chosen = TrendFilter(
            rubric=self._rubric(options["rubric"]),
            organization=self._organization(options["organization"]),
            sector=options["sector"],
            group=options["group"],
        )
        for exercise in EVERYTHING.exercises().filter(scenario__rubric=chosen.rubric):
            report_ensure_fresh(exercise=exercise)
        view = trend_view(EVERYTHING, chosen, by=options["by"], per=options["per"])
        content = FORMATS[fmt].render(view)
        try:
            output.write_bytes(content)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stdout.write(
            f"Wrote {output} ({len(view.series)} series over "
            f"{len(view.data.exercises)} exercises, {fmt})."
        )

    def _rubric(self, key: str | None):
        rubrics = trend_rubrics(EVERYTHING)
        if key:
            rubric = rubrics.filter(key=key).first()
            if rubric is None:
                raise CommandError(f"No rubric {key!r} with two ended exercises or more.")
            return rubric
        if len(rubrics) != 1:
            names = ", ".join(r.key for r in rubrics) or "none"
            raise CommandError(f"Choose a rubric with --rubric (rubrics with trends: {names}).")
        return rubrics[0]

    def _organization(self, code: str | None) -> Organization | None:
        if not code:
            return None
        organization = Organization.objects.filter(code=code).first()
        if organization is None:
            raise CommandError(f"No organization with code {code}.")
        return organization
