"""WebSocket routes of live exercises."""

from __future__ import annotations

from django.urls import path

from exercises.consumers import ExerciseConsumer

websocket_urlpatterns = [
    path("ws/exercises/<str:code>/", ExerciseConsumer.as_asgi()),
]
