"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.startup import load_settings_or_exit, load_what_requests_use, settle_garbage_collector

load_settings_or_exit()

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from config.body_limit import BodyLimit  # noqa: E402

# Bodies over the limit are refused before Django reads them (config/body_limit.py).
django_asgi_app = BodyLimit(get_asgi_application(), limit=settings.MAX_REQUEST_BYTES)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.origin import SameOriginValidator  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.socket_auth import SocketAuthStack  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(SocketAuthStack(URLRouter(websocket_urlpatterns))),
    }
)

# Last: everything above, and what requests use, lives as long as the process
# (config/startup.py).
load_what_requests_use()
settle_garbage_collector()
