"""System checks for combinations of settings that cannot work.

Celery's Django fix-up runs these checks when a worker starts, so a worker that
could never reach a browser refuses to start.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def celery_worker_needs_shared_layer(app_configs, **kwargs) -> list[Error]:
    in_memory = settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer")
    if in_memory and not settings.CELERY_TASK_ALWAYS_EAGER:
        return [
            Error(
                "Celery runs out of process but the channel layer is in-memory: "
                "a worker's broadcasts would never reach a browser.",
                hint="Set REDIS_URL so workers and ASGI servers share one channel layer.",
                id="cascade.E001",
            )
        ]
    return []
