from __future__ import annotations

from django.apps import AppConfig


class ExercisesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "exercises"

    def ready(self) -> None:
        # Registers the Celery tasks in every process: the scheduler runs the sweep task
        # by its name (``exercises.scheduler.SWEEP_TASK``), also without a worker.
        # Closes a user's sockets on logout and password change.
        from exercises import (
            receivers,  # noqa: F401
            tasks,  # noqa: F401
        )
