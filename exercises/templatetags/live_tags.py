"""Presentation filters of the live pages: clock times, channel icons, event labels."""

from __future__ import annotations

import functools

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from config import limits
from exercises import events
from scenarios.services import render_markdown

register = template.Library()

# Vendored SVG icons (lucide-static, static/vendor/lucide): emoji show as empty boxes on
# machines without an emoji font (Linux desktops, kiosks).
ICON_SPRITE = "vendor/lucide/cascade-icons-1.62.0.svg"
CHANNEL_ICONS = {
    "email": "mail",
    "phone": "phone",
    "news": "newspaper",
    "social": "message-circle",
    "siem": "siren",
    "regulator": "landmark",
    "partner": "handshake",
}


@register.filter
def clock(seconds: float | int | None) -> str:
    """Exercise-clock seconds as m:ss (or h:mm:ss)."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.simple_tag
def icon(name: str) -> SafeString:
    """A vendored SVG icon, hidden from screen readers: the element around it (or the text
    beside it) says what it means."""
    return _icon(name)


# Cached: ``static`` and ``format_html`` cost ~25 µs a call, a third of a decision's status
# line, and every frame of a decision draws one (the names are the few in the templates).
# The markup depends only on the name and the static URL, which changes only when a test
# overrides the settings.
@functools.cache
def _icon(name: str) -> SafeString:
    href = f"{static(ICON_SPRITE)}#{name}"
    return format_html(
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="{}"></use></svg>', href
    )


@receiver(setting_changed)
def _forget_icons(*, setting: str, **kwargs: object) -> None:
    if setting in ("STATIC_URL", "STORAGES"):
        _icon.cache_clear()


@register.filter
def channel_icon(channel: str) -> SafeString:
    return icon(CHANNEL_ICONS.get(channel, "megaphone"))


@register.filter
def event_label(kind: str) -> str:
    """The kind's label from the one table of event kinds (``exercises.events.KINDS``)."""
    return events.event_label(kind)


@register.simple_tag
def text_limit(name: str) -> int:
    """A text limit of ``config.limits`` (``{% text_limit "TEXT_MESSAGE" %}``), for the
    ``maxlength`` of a form written in a template (one pushed over the socket)."""
    return getattr(limits, name)


@register.filter
def get_item(mapping: dict, key: str):
    """``mapping[key]`` in a template (e.g. the TLP help text of a radio)."""
    return mapping.get(key, "")


@register.filter
def markdown(text: str) -> str:
    """Scenario markdown (briefings, inject bodies) as sanitized HTML."""
    return _markdown(text)


# Cached: rendering costs 0.2-0.5 ms a body, and the same few texts (the scenario's
# injects and briefings) are rendered again for every look of an inject's frames and for
# every feed on every page load. The HTML depends on the text alone; bodies are at most
# ``limits.TEXT_DOCUMENT`` characters, so the cache holds a few MB at worst.
@functools.lru_cache(maxsize=128)
def _markdown(text: str) -> SafeString:
    return mark_safe(render_markdown(text))  # nh3 has cleaned it
