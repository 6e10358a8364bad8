"""What the live runtime tells the apps built on it, without importing them.

``scoring`` sits above ``exercises`` (it reads runs to score them), so the engine cannot
call it; it sends these signals instead, after the change commits, and ``scoring``
connects its receivers when it is ready.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``exercise_id`` once an exercise's end has committed.
exercise_ended = Signal()
