"""Errors of the scenario file format: every problem names a field path and, if known, a line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormatError:
    """One problem in a scenario document.

    ``path`` is the field path (``stages[2].injects[0].audience.roles[1]``), empty for
    the whole document; ``line`` is 1-based and known for YAML input only.
    """

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "document"
        if self.line is not None:
            where = f"{where} (line {self.line})"
        return f"{where}: {self.message}"


class ScenarioFormatError(ValueError):
    """A document that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FormatError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))
