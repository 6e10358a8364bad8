"""Load a rubric file (YAML) into Rubric and Criterion rows. Loading again updates in place.

File shape (see fixtures/rubric/cascade-resilience.yaml)::

    key: cascade-resilience
    title: ...
    version: "2024.1"
    description: ...
    criteria:
      - key: de-ae            # slug, unique within the rubric
        title: Adverse event analysis
        group: DE             # GV ID PR DE RS RC CO
        reference: DE.AE      # e.g. the NIST CSF 2.0 category identifier
        description: ...
        threshold: 60         # 0-100, below is a gap
        weight: 1.0           # optional
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import DatabaseError, transaction

from scenarios.models import Criterion, Rubric

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def rubric_criteria(key: str) -> list[tuple[str, str]] | None:
    """(key, reference) of each criterion of the rubric ``key``; None if there is none.

    The loaded rubric, else the shipped file ``fixtures/rubric/<key>.yaml`` — so a file
    can be checked on a fresh clone before ``migrate`` or ``load_fixtures``.
    """
    try:
        rubric = Rubric.objects.filter(key=key).first()
        if rubric is not None:
            return list(rubric.criteria.values_list("key", "reference"))
    except DatabaseError:  # no database yet: the shipped file is the answer
        pass
    shipped = Path(settings.BASE_DIR) / "fixtures" / "rubric" / f"{key}.yaml"
    if not SLUG.match(key) or not shipped.is_file():
        return None
    data = yaml.safe_load(shipped.read_text(encoding="utf-8")) or {}
    items = [item for item in data.get("criteria", []) if isinstance(item, dict)]
    return [(str(item.get("key", "")), str(item.get("reference") or "")) for item in items]


class RubricFormatError(ValueError):
    """A rubric file that cannot be loaded; the message lists every problem."""


def load_rubric(source: str | Path) -> Rubric:
    """Create or update the rubric described by ``source`` (a path or YAML text).

    Idempotent: criteria are matched by key and updated; criteria no longer in the file
    are kept (scores may point at them) but moved after the listed ones.
    """
    text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) else source
    data = yaml.safe_load(text)
    problems = rubric_problems(data)
    if problems:
        raise RubricFormatError("\n".join(problems))
    with transaction.atomic():
        rubric, _ = Rubric.objects.update_or_create(
            key=data["key"],
            defaults={
                "title": data["title"],
                "description": data.get("description") or "",
                "version": str(data.get("version") or "1"),
            },
        )
        listed = []
        for order, item in enumerate(data["criteria"]):
            Criterion.objects.update_or_create(
                rubric=rubric, key=item["key"], defaults=_criterion_fields(item, order)
            )
            listed.append(item["key"])
        stale = rubric.criteria.exclude(key__in=listed)
        stale.update(order=len(listed))
    return rubric


def _criterion_fields(item: dict, order: int) -> dict[str, Any]:
    return {
        "title": item["title"],
        "description": item.get("description") or "",
        "group": item["group"],
        "reference": item.get("reference") or "",
        "threshold": item.get("threshold", 60),
        "weight": float(item.get("weight", 1.0)),
        "order": order,
    }


def rubric_problems(data: Any) -> list[str]:
    """Every problem of a parsed rubric file, as readable lines; empty when valid."""
    if not isinstance(data, dict):
        return ["the rubric file must be a mapping"]
    problems = []
    if not isinstance(data.get("key"), str) or not SLUG.match(data["key"]):
        problems.append("key: must be a slug (a-z, 0-9, -)")
    if not isinstance(data.get("title"), str) or not data["title"]:
        problems.append("title: is required")
    criteria = data.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        return [*problems, "criteria: must be a non-empty list"]
    seen: set[str] = set()
    for index, item in enumerate(criteria):
        problems += [f"criteria[{index}].{p}" for p in _criterion_problems(item, seen)]
    return problems


def _criterion_problems(item: Any, seen: set[str]) -> list[str]:
    if not isinstance(item, dict):
        return ["must be a mapping"]
    problems = []
    key = item.get("key")
    if not isinstance(key, str) or not SLUG.match(key):
        problems.append("key: must be a slug (a-z, 0-9, -)")
    elif key in seen:
        problems.append(f"key: duplicate '{key}'")
    else:
        seen.add(key)
    if not isinstance(item.get("title"), str) or not item["title"]:
        problems.append("title: is required")
    if item.get("group") not in Criterion.Group.values:
        problems.append(f"group: must be one of {', '.join(Criterion.Group.values)}")
    threshold = item.get("threshold", 60)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 100:
        problems.append("threshold: must be a whole number from 0 to 100")
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        problems.append("weight: must be a positive number")
    return problems
