"""The scenario file format (docs/scenario-format.md): parse, validate, import, export.

Public API, used by the editor, the commands and the fixtures loader::

    load_document(text, filename=...)            -> dict  (raises ScenarioFormatError)
    validate_document(doc, criteria=...)         -> list[FormatError]
    import_scenario(text_or_doc, ...)            -> Scenario (all-or-nothing)
    export_document(scenario)                    -> dict
    dump_document(doc, fmt="yaml" | "json")      -> str
"""

from scenarios.formats.errors import FormatError, ScenarioFormatError
from scenarios.formats.exporter import dump_document, export_document
from scenarios.formats.importer import import_scenario
from scenarios.formats.parse import (
    Document,
    format_duration,
    load_document,
    parse_duration,
)
from scenarios.formats.validate import FORMAT, validate_document

__all__ = [
    "FORMAT",
    "Document",
    "FormatError",
    "ScenarioFormatError",
    "dump_document",
    "export_document",
    "format_duration",
    "import_scenario",
    "load_document",
    "parse_duration",
    "validate_document",
]
