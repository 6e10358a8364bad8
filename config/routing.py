"""WebSocket URL routes of every app, gathered in one list for asgi.py and tests."""

from __future__ import annotations

websocket_urlpatterns: list = []
