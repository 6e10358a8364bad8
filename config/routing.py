"""WebSocket URL routes of every app, gathered in one list for asgi.py and tests."""

from __future__ import annotations

from exercises.routing import websocket_urlpatterns as exercise_routes

websocket_urlpatterns: list = [*exercise_routes]
