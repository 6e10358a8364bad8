"""Load the shipped rubric(s) and scenarios from fixtures/, without duplicating anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from scenarios.formats.exporter import export_document
from scenarios.formats.importer import import_scenario
from scenarios.formats.parse import load_document
from scenarios.models import Scenario
from scenarios.rubrics import load_rubric

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")


def fixtures_dir() -> Path:
    return Path(settings.BASE_DIR) / "fixtures"


def load_fixtures(*, root: Path | None = None, created_by: Any = None) -> Iterator[str]:
    """Load every rubric, then every scenario under ``root``; yield one line per file.

    Idempotent: rubrics are updated in place, and a scenario is skipped when a published
    version identical to the file already exists (otherwise it becomes the next version).
    """
    root = root or fixtures_dir()
    for path in sorted((root / "rubric").glob("*.yaml")):
        rubric = load_rubric(path)
        yield f"rubric {rubric.key}: {rubric.criteria.count()} criteria loaded"
    for path in sorted((root / "scenarios").iterdir()):
        if path.suffix in SCENARIO_SUFFIXES:
            scenario, created = import_if_changed(
                path.read_text(encoding="utf-8"), filename=path.name, created_by=created_by
            )
            verb = "imported" if created else "unchanged, kept"
            yield f"scenario {scenario.key}: {verb} v{scenario.version} ({path.name})"


def import_if_changed(
    text: str, *, filename: str = "", created_by: Any = None
) -> tuple[Scenario, bool]:
    """Import ``text`` unless a published version with the same content exists.

    Returns (scenario, created). Raises ``ScenarioFormatError`` like ``import_scenario``.
    """
    doc = load_document(text, filename=filename)
    key = doc.get("key")
    with transaction.atomic():
        scenario = import_scenario(doc, created_by=created_by)
        exported = export_document(scenario)
        published = Scenario.objects.filter(key=key, status=Scenario.Status.PUBLISHED).exclude(
            pk=scenario.pk
        )
        for existing in published.order_by("-version"):
            if export_document(existing) == exported:
                # Same content: undo this import (the outer atomic block rolls back).
                transaction.set_rollback(True)
                return existing, False
    return scenario, True
