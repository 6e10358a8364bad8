"""Pure analysis of a scenario's stage graph (no database access).

Used by import validation, the browser editor's graph and the preview.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class GraphReport:
    reachable: frozenset[str]
    unreachable: tuple[str, ...]
    terminal: tuple[str, ...]
    cannot_end: tuple[str, ...]
    """Reachable stages from which no path leads to a terminal stage (an endless loop)."""

    @property
    def ok(self) -> bool:
        return not self.unreachable and not self.cannot_end


def analyse(
    stages: Iterable[str], edges: Iterable[tuple[str, str]], start: str | None
) -> GraphReport:
    """Reachability of ``stages`` (keys, in display order) over ``edges`` from ``start``.

    A terminal stage is one with no outgoing edge: reaching it ends the exercise.
    """
    order = list(stages)
    outgoing: dict[str, set[str]] = {key: set() for key in order}
    incoming: dict[str, set[str]] = {key: set() for key in order}
    for source, target in edges:
        if source in outgoing and target in outgoing:
            outgoing[source].add(target)
            incoming[target].add(source)
    reachable = _walk({start} if start in outgoing else set(), outgoing)
    terminal = [key for key in order if not outgoing[key]]
    can_end = _walk(set(terminal), incoming)
    return GraphReport(
        reachable=frozenset(reachable),
        unreachable=tuple(key for key in order if key not in reachable),
        terminal=tuple(terminal),
        cannot_end=tuple(key for key in order if key in reachable and key not in can_end),
    )


def _walk(frontier: set[str], neighbours: dict[str, set[str]]) -> set[str]:
    seen = set(frontier)
    queue = deque(frontier)
    while queue:
        for nxt in neighbours[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def layers(
    stages: Iterable[str], edges: Iterable[tuple[str, str]], start: str | None
) -> list[list[str]]:
    """Stages grouped by breadth-first distance from ``start``; unreachable ones last.

    Gives the columns for drawing the graph left to right.
    """
    order = list(stages)
    outgoing: dict[str, list[str]] = {key: [] for key in order}
    for source, target in edges:
        if source in outgoing and target in outgoing and target not in outgoing[source]:
            outgoing[source].append(target)
    depth: dict[str, int] = {}
    if start in outgoing:
        depth[start] = 0
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for nxt in outgoing[current]:
                if nxt not in depth:
                    depth[nxt] = depth[current] + 1
                    queue.append(nxt)
    columns: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for key in order:
        if key in depth:
            columns[depth[key]].append(key)
    orphans = [key for key in order if key not in depth]
    if orphans:
        columns.append(orphans)
    return columns
