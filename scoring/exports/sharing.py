"""The intelligence-sharing export formats (STIX 2.1, MISP), offered on the report page and
by ``manage.py export_report --format stix|misp``. Each renders a reader's
``ReportAccess`` (their TLP rights), not a ``Report``: see ``scoring.exports.intel``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scoring.access import ReportAccess
from scoring.exports import misp, stix


@dataclass(frozen=True)
class SharingFormat:
    label: str
    render: Callable[[ReportAccess], bytes]
    content_type: str
    suffix: str


FORMATS = {
    "stix": SharingFormat(
        "STIX 2.1 bundle", stix.render, "application/stix+json;version=2.1", "stix.json"
    ),
    "misp": SharingFormat("MISP event", misp.render, "application/json", "misp.json"),
}


def filename(access: ReportAccess, fmt: str) -> str:
    return f"cascade-{access.exercise.code}-{FORMATS[fmt].suffix}"
