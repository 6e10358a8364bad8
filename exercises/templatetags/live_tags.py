"""Presentation filters of the live pages: clock times, channel icons, event labels."""

from __future__ import annotations

import functools
import html

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.forms import BoundField
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from config import limits
from exercises import events
from exercises.live_state import InjectRow
from exercises.models import Exercise
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


@register.simple_tag
def inject_row(exercise: Exercise, row: InjectRow) -> SafeString:
    """A row of the console's inject list (``partials/inject_row.html``), rendered once
    per content: a release changes one row of the list, and each release's console frame
    draws the whole list again (its POST answers with that drawing)."""
    can_release = exercise.can("release")
    return _inject_row(exercise.code, can_release, row.values, row.stage_started_at_clock)


# Keyed by all the row shows: the exercise's code (the release URL), whether it may
# release now, the row's values as read (``queries.stage_injects`` reads every field the
# template shows) and its stage's start (the due time). ~600 bytes an entry.
@functools.lru_cache(maxsize=1024)
def _inject_row(
    code: str, can_release: bool, values: tuple, stage_started_at_clock: float
) -> SafeString:
    row = InjectRow(values, stage_started_at_clock=stage_started_at_clock)
    context = {"code": code, "can_release": can_release, "row": row}
    return mark_safe(render_to_string("exercises/partials/inject_row.html", context).strip())


@receiver(setting_changed)
def _forget_markup(*, setting: str, **kwargs: object) -> None:
    if setting in ("STATIC_URL", "STORAGES"):
        _icon.cache_clear()
        _inject_row.cache_clear()
    elif setting == "ROOT_URLCONF":
        _inject_row.cache_clear()


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
    return mark_safe(render_markdown(text))  # nh3 has cleaned it; cached by its text


# A choice field with one choice per team is drawn in Python, not per choice by Django's
# widget templates (nor by a template loop over its subwidgets): with 100 teams, the
# room's recipients and RFI addressees were a tenth of its CPU. The markup is the
# widgets' own (ids as ``ChoiceWidget.id_for_label`` makes them); escaped with the
# standard library's ``html.escape``, which Django's ``escape`` wraps (format_html per
# choice cost 3 times as much).


def _choices(field: BoundField, attribute: str) -> list[tuple[str, str, str]]:
    """(value, label, `` checked``/`` selected`` or "") of each choice, escaped."""
    chosen = set(field.field.widget.format_value(field.value()))
    return [
        (html.escape(str(value)), html.escape(str(label)), f" {attribute}" * (str(value) in chosen))
        for value, label in field.field.choices
    ]


@register.filter
def choice_inputs(field: BoundField, input_type: str) -> SafeString:
    """One ``<label><input type="checkbox|radio"> choice</label>`` per choice of ``field``."""
    name, prefix = html.escape(field.html_name), html.escape(field.auto_id)
    return mark_safe(  # every part escaped above
        "".join(
            f'<label for="{prefix}_{i}"><input type="{input_type}" name="{name}" value="{value}"'
            f' id="{prefix}_{i}"{on}> {label}</label>'
            for i, (value, label, on) in enumerate(_choices(field, "checked"))
        )
    )


@register.filter
def select_options(field: BoundField) -> SafeString:
    """The ``<option>``s of ``field`` (a one-level choice list), each on its own line."""
    return mark_safe(  # every part escaped
        "".join(
            f'\n  <option value="{value}"{on}>{label}</option>'
            for value, label, on in _choices(field, "selected")
        )
    )
