"""What a server process does as it starts: a configuration error as one clear line
instead of a traceback wall; the garbage collector settled (the start-up objects frozen,
the young ones collected less often)."""

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


# Objects allocated and not yet freed before a young collection runs (CPython's default:
# 700). A request or a socket frame allocates thousands and frees nearly all of them by
# reference counting; every 700, the few alive at that moment (a message in a queue, a
# request in flight) were promoted, and a full collection followed every 8-15 s of load in
# each Daphne process: 40-130 ms with its sockets waiting. At 50,000 none ran in a bench
# run; the cyclic garbage a collection finds waits longer, a few MB at most. The price: a
# joined socket leaves ~200 objects (Twisted's, Channels', Cascade's), so the young
# collection after players join walks many (~23 ms, on the first inject's frames in some
# runs). 10,000 shortened that to 2-5 ms but promoted the sockets' objects sooner: a
# Daphne process holding 2,500 sockets then ran full collections of 570-770 ms
# (bench/README.md, session 9).
YOUNG_OBJECTS = 50_000


def settle_garbage_collector() -> None:
    """Move every object alive once the application is built (modules, settings, URL
    patterns, models' metadata: ~130,000 in a server process) out of the garbage
    collector's generations for good, and collect young objects less often
    (``YOUNG_OBJECTS``). A full collection then walks only what the server created since:
    unfrozen, each one of a gunicorn worker or a Daphne process took ~100 ms of CPU (~10 ms
    frozen), the whole process stopped meanwhile, a pause that lands on the requests and
    the frames of that moment (bench/README.md, "Tenth pass"). The frozen objects are never
    freed; they live as long as the process anyway."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, older, oldest)
