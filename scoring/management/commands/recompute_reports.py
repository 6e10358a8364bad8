"""Recompute scores, gaps and improvement-plan drafts: ``manage.py recompute_reports``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exercises.models import Exercise
from scoring.services import report_compute


class Command(BaseCommand):
    help = "Recompute the after-action scores and gaps of one exercise (by code) or of all."

    def add_arguments(self, parser) -> None:
        parser.add_argument("codes", nargs="*", help="Exercise codes; none: every exercise.")

    def handle(self, *args, codes: list[str], **options) -> None:
        exercises = Exercise.objects.select_related("scenario")
        if codes:
            exercises = exercises.filter(code__in=codes)
            missing = set(codes) - set(exercises.values_list("code", flat=True))
            if missing:
                raise CommandError(f"No exercise with code {', '.join(sorted(missing))}.")
        for exercise in exercises.order_by("created_at"):
            result = report_compute(exercise=exercise)
            self.stdout.write(
                f"{exercise.code} {exercise.name}: {len(result.scores)} scores, "
                f"{len(result.gaps)} gaps, {result.created_items} new improvement items"
            )
