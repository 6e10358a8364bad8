"""Checks that apps above scenarios add to the editor's validation panel.

The panel shows the file-format validator's problems and ``document_warnings``; some
checks need knowledge scenarios must not import (the scoring method sits above it:
accounts ← scenarios ← exercises ← scoring). Such an app registers a warning check here
in its ``AppConfig.ready`` — scoring's "what a perfect team scores" check
(``scoring.perfect_play``) — and ``services.scenario_warnings`` runs every registered
check. A check takes the scenario and returns sentences for the author; it only reads.
"""

from __future__ import annotations

from collections.abc import Callable

from scenarios.models import Scenario

WarningCheck = Callable[[Scenario], list[str]]

_checks: dict[str, WarningCheck] = {}


def register_warning_check(name: str, check: WarningCheck) -> None:
    """Add ``check`` to the panel's warnings (registering a name again replaces it)."""
    _checks[name] = check


def extra_warnings(scenario: Scenario) -> list[str]:
    """What the registered checks say about ``scenario``, in registration order."""
    return [warning for check in _checks.values() for warning in check(scenario)]
