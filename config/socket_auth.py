"""A socket's session and user, loaded in the worker pool rather than on the shared thread.

Channels' ``AuthMiddlewareStack`` builds the session store and loads the user through
``database_sync_to_async`` with ``thread_sensitive=True``: outside a request, that is one
thread per process, the same one every consumer's other thread-sensitive calls queue on.
A thousand sockets joining at once queued their handshakes there in single file, and
Daphne drops a handshake the application has not accepted within 5 s (bench/README.md,
"Where it breaks"). Here both are read in one call in asgiref's worker pool, as the
consumer's own reads are (``exercises.consumers.read_db``), with Django's own
``auth.get_user`` (session hash check included).
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib import auth


def load_session_and_user(session_key: str | None):
    """The session store for ``session_key`` and its user (``AnonymousUser`` if none)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # auth.get_user reads only ``request.session`` (and flushes it on a stale hash).
    return session, auth.get_user(SimpleNamespace(session=session))


class SocketAuthMiddleware(BaseMiddleware):
    """Sets ``scope["session"]`` and ``scope["user"]`` from the session cookie. Needs
    ``CookieMiddleware`` above it (``SocketAuthStack``)."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        session_key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        scope["session"], scope["user"] = await database_sync_to_async(
            load_session_and_user, thread_sensitive=False
        )(session_key)
        return await super().__call__(scope, receive, send)


def SocketAuthStack(inner):  # named like Channels' AuthMiddlewareStack
    return CookieMiddleware(SocketAuthMiddleware(inner))
