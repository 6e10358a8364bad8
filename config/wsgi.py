"""WSGI entry point for gunicorn: every plain HTTP path of a real deployment.

Daphne (``config/asgi.py``) keeps the sockets (``/ws/``); the proxy sends the rest here
(README, "Deploy for real"; ``config/gunicorn.py``). Requests get what Daphne gives them:
the same body limit (``config/body_limit.py``), middleware, whitenoise and database pool.
A publish from a WSGI worker reaches Daphne's sockets through Redis
(``exercises.broadcast``), so the embedded default, whose channel layer is in-memory,
refuses to start here.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.startup import load_settings_or_exit, load_what_requests_use, settle_garbage_collector

load_settings_or_exit()

from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from config.body_limit import WsgiBodyLimit  # noqa: E402
from config.checks import wsgi_server_problem  # noqa: E402

if problem := wsgi_server_problem():
    # Raised, not an exit: gunicorn halts (exit 3, "Worker failed to boot") on an
    # exception while a worker boots, but would respawn a worker that exits.
    raise ImproperlyConfigured(f"cascade: cannot serve HTTP from a WSGI server: {problem}")

application = WsgiBodyLimit(get_wsgi_application(), limit=settings.MAX_REQUEST_BYTES)

# Last: everything above, and what requests use, lives as long as the process
# (config/startup.py).
load_what_requests_use()
settle_garbage_collector()
