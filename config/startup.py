"""What a server process does as it starts: a configuration error as one clear line
instead of a traceback wall; the start-up objects frozen out of the garbage collector."""

from __future__ import annotations

import gc
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


def freeze_startup_objects() -> None:
    """Move every object alive once the application is built (modules, settings, URL
    patterns, models' metadata: ~130,000 in a server process) out of the garbage
    collector's generations, for good: a full collection then walks only what the server
    created since. Unfrozen, each full collection of a gunicorn worker or a Daphne
    process took ~100 ms of CPU (~10 ms frozen), the whole process stopped meanwhile,
    about once per thousand decide POSTs: a pause that lands on the requests and the
    sockets' frames of that moment (bench/README.md, "Tenth pass"). They are never
    freed, as they live as long as the process anyway."""
    gc.collect()
    gc.freeze()
