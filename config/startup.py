"""Turn a configuration error into one clear line instead of a traceback wall."""

from __future__ import annotations

import sys

from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit() -> None:
    """Import the settings now; on a bad environment variable print one line and exit 2."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the lazy settings to load
    except ImproperlyConfigured as exc:
        print(f"cascade: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
