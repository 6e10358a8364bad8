"""Small filters of the after-action templates."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from exercises.models import Exercise
from scenarios.services import render_markdown
from scoring import access

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    """Author markdown as sanitized HTML (Markdown + nh3, as in the scenario editor)."""
    return mark_safe(render_markdown(text))  # nh3 has cleaned it


@register.filter
def offers_report(exercise: Exercise) -> bool:
    """Pages outside scoring ask the report rule here (``scoring.access.offers_report``)."""
    return access.offers_report(exercise)


@register.filter
def clock(seconds: float | None) -> str:
    """Exercise-clock seconds as h:mm:ss (or m:ss)."""
    if seconds is None:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def score(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
