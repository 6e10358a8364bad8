"""Warnings: what a valid scenario document would run wrong (docs/scenario-format.md).

An error stops an import; a warning does not, because the author may mean it. Each
check reads a validated document (the import's, or the editor's scenario exported), so
the CLI, the web import and the editor's validation panel say the same things.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from typing import Any

from scenarios.formats.parse import format_duration, parse_duration

# Offsets of 6 hours or more into a stage are rare; 09:40 was probably a clock time.
CLOCK_LIKE_SECONDS = 6 * 3600
# Role names this close are likely one role typed twice ("Riverside Hospitl").
NEAR_DUPLICATE_EDITS = 2
NEAR_DUPLICATE_MIN_LENGTH = 5
# Markings whose audience must be named people, not every team or a whole sector.
NAMED_ONLY = {"RED": ("all", "sectors"), "AMBER+STRICT": ("all",)}


def scenario_warnings(doc: dict[str, Any]) -> list[str]:
    """Every warning for a validated document, in document order."""
    return [
        *_near_duplicate_roles(doc.get("roles") or []),
        *_parts(doc),
        *_dead_ends(doc.get("stages") or []),
    ]


def edit_distance(a: str, b: str, *, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, stopping at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _near_duplicate_roles(roles: list[dict]) -> Iterator[str]:
    labels = [str(role.get("label") or role.get("key")) for role in roles]
    for first, second in combinations(labels, 2):
        a, b = first.casefold(), second.casefold()
        if min(len(a), len(b)) < NEAR_DUPLICATE_MIN_LENGTH:
            continue
        distance = edit_distance(a, b, limit=NEAR_DUPLICATE_EDITS)
        if distance <= NEAR_DUPLICATE_EDITS:
            what = "differ only in case" if distance == 0 else f"differ by {distance} letter(s)"
            yield f"roles '{first}' and '{second}' {what}: is one a typo of the other?"


def _parts(doc: dict[str, Any]) -> Iterator[str]:
    sectors = {role.get("sector") for role in doc.get("roles") or []}
    for s, stage in enumerate(doc.get("stages") or []):
        for i, inject in enumerate(stage.get("injects") or []):
            where = f"stages[{s}].injects[{i}] '{inject.get('title', '')}'"
            yield from _audience(where, inject.get("audience"), sectors)
            yield from _marking(where, inject)
            yield from _offset(where, inject.get("release"))
        for p, prompt in enumerate(stage.get("prompts") or []):
            where = f"stages[{s}].prompts[{p}]"
            yield from _audience(where, prompt.get("audience"), sectors)


def _audience(where: str, audience: Any, sectors: set[Any]) -> Iterator[str]:
    if isinstance(audience, dict) and "sectors" in audience:
        empty = [sector for sector in audience["sectors"] if sector not in sectors]
        if empty:
            yield f"{where}: no role is in sector {', '.join(empty)}; it reaches nobody there"


def _marking(where: str, inject: dict) -> Iterator[str]:
    tlp = inject.get("tlp")
    audience = inject.get("audience") or "all"
    kind = "sectors" if isinstance(audience, dict) and "sectors" in audience else audience
    if tlp in NAMED_ONLY and kind in NAMED_ONLY[tlp]:
        whom = "every team" if kind == "all" else "whole sectors"
        yield f"{where}: TLP:{tlp} but its audience is {whom}; name the roles it is for"


def _offset(where: str, release: Any) -> Iterator[str]:
    if release in (None, "manual", "consequence"):
        return
    seconds = parse_duration(str(release))
    if seconds is not None and seconds >= CLOCK_LIKE_SECONDS:
        yield (
            f"{where}: released {format_duration(seconds)} into its stage; "
            "was that a clock time? Offsets count from the stage's start"
        )


def _dead_ends(stages: list[dict]) -> Iterator[str]:
    for s, stage in enumerate(stages):
        transitions = stage.get("transitions") or []
        if transitions and all(t.get("when") and not t.get("default") for t in transitions):
            yield (
                f"stages[{s}] '{stage.get('title', '')}': every way out has a condition and "
                "none is the default; if none holds the exercise stops here"
            )
