"""System checks for combinations of settings that cannot work.

Celery's Django fix-up runs these checks when a worker starts, so a worker that
could never reach a browser refuses to start. A WSGI server runs no system check, so
``config/wsgi.py`` asks ``wsgi_server_problem`` itself before serving.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


def layer_in_memory() -> bool:
    """The channel layer lives in one process's memory (the embedded default)."""
    return settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer")


def wsgi_server_problem() -> str | None:
    """Why a WSGI server (gunicorn) cannot serve this configuration, or None.

    With the in-memory layer, a decision or release POST served by a WSGI process would
    publish into that process's own memory, where no socket listens: the sockets live in
    Daphne's. The embedded default keeps Daphne for everything.
    """
    if layer_in_memory():
        return (
            "the channel layer is in-memory, so a WSGI server's broadcasts would never reach "
            "the sockets on Daphne. Set REDIS_URL (README, 'Deploy for real'), or serve "
            "everything from Daphne (the embedded default)."
        )
    return None


@register()
def celery_worker_needs_shared_layer(app_configs, **kwargs) -> list[Error]:
    if layer_in_memory() and not settings.CELERY_TASK_ALWAYS_EAGER:
        return [
            Error(
                "Celery runs out of process but the channel layer is in-memory: "
                "a worker's broadcasts would never reach a browser.",
                hint="Set REDIS_URL so workers and ASGI servers share one channel layer.",
                id="cascade.E001",
            )
        ]
    return []
