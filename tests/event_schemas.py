"""Every stored event against its kind's payload type (``exercises.events``): used after
the engine tests and after each browser test, so whatever the engine emitted is checked."""

from __future__ import annotations

from exercises.events import payload_errors
from exercises.models import Event


def stored_event_errors() -> list[str]:
    """One line per mismatch, naming the exercise, seq and kind; empty when all match."""
    return [
        f"exercise {event.exercise_id} #{event.seq}: {error}"
        for event in Event.objects.order_by("exercise_id", "seq")
        for error in payload_errors(event.kind, event.payload)
    ]
