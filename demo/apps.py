from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo people, demo exercises and ``seed_demo``; it sits on top of every other app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
