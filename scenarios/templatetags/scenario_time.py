"""``{{ seconds|clock }}``: a duration as the editor's forms take it (m:ss, h:mm:ss)."""

from __future__ import annotations

from django import template

from scenarios.formats.parse import clock_text

register = template.Library()


@register.filter
def clock(seconds: int | None) -> str:
    return clock_text(seconds)
