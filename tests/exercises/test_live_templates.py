"""Django's ``{# #}`` comments are single-line: one spanning lines is printed on the page
(it happened on the console). Multi-line comments use ``{% comment %}``."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_has_a_multiline_hash_comment():
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if any("\n" in m for m in re.findall(r"\{#(.*?)#\}", path.read_text(), flags=re.S))
    ]
    assert offenders == []
