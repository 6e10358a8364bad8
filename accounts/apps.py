from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        # Project-wide system checks live in config/, which is not an app.
        from config import checks  # noqa: F401
