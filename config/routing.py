"""WebSocket URL routes of every app, gathered in one list for asgi.py and tests."""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from exercises.routing import websocket_urlpatterns as exercise_routes

CLOSE_NOT_FOUND = 4404


class NoRouteConsumer(AsyncWebsocketConsumer):
    """Any other socket path: refused at the handshake (Channels' router would raise and
    the server answer 500)."""

    async def connect(self) -> None:
        await self.close(code=CLOSE_NOT_FOUND)


websocket_urlpatterns: list = [*exercise_routes, re_path(r"", NoRouteConsumer.as_asgi())]
