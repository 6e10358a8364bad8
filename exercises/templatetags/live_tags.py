"""Presentation filters of the live pages: clock times, channel icons, event labels."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from exercises import events
from scenarios.services import render_markdown

register = template.Library()

CHANNEL_ICONS = {
    "email": "✉️",
    "phone": "📞",
    "news": "📰",
    "social": "💬",
    "siem": "🚨",
    "regulator": "🏛",
    "partner": "🤝",
}


@register.filter
def clock(seconds: float | int | None) -> str:
    """Exercise-clock seconds as m:ss (or h:mm:ss)."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, "📣")


@register.filter
def event_label(kind: str) -> str:
    """The kind's label from the one table of event kinds (``exercises.events.KINDS``)."""
    return events.event_label(kind)


@register.filter
def get_item(mapping: dict, key: str):
    """``mapping[key]`` in a template (e.g. the TLP help text of a radio)."""
    return mapping.get(key, "")


@register.filter
def markdown(text: str) -> str:
    """Scenario markdown (briefings, inject bodies) as sanitized HTML."""
    return mark_safe(render_markdown(text))  # nh3 has cleaned it
