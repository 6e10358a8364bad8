"""What the bench's Daphne processes serve: Cascade, plus the raw floor beside it.

The floor is what the same processes, Redis and PostgreSQL do with no Cascade code on the
path, measured in the same run as Cascade (bench/bench_path.py), so that every Cascade
figure is printed as a ratio to it:

- ``/floor/ws/?team=<id>``: a raw Channels consumer that joins two groups (all teams, its
  team), as a player's socket does, and forwards each pushed frame; no auth, no database;
- ``POST /floor/release/`` (``bytes=<n>``): a plain Django view (the project's
  middleware, CSRF included) that INSERTs one row and sends an n-byte frame with that
  row's id as its seq to the all-teams group, as a release reaches every team (the bench
  passes the size of Cascade's inject frame, measured in the same run);
- ``POST /floor/insert/``: a plain Django view doing one INSERT, the floor of a decision;
- ``GET /floor/page/?bytes=<n>``: a plain Django view rendering an n-byte page through the
  template engine, no database: the floor of a page GET (the bench passes the size of
  Cascade's room page, measured in the same run).

Loading this module also raises the decision rate limit (the bench asks 100 teams for
200 decisions/s, 4x their sustained allowance: it measures the path, not the limiter)
and freezes the start-up objects out of the garbage collector's generations: the floor's
views and consumer too, beside Cascade's, which ``config.asgi`` and ``config.wsgi`` freeze
as every server process does (``config/startup.py``).

Daphne serves ``bench.floor_app:application``; gunicorn (``bench_path.py --http gunicorn``)
serves ``bench.floor_app:wsgi_application``, the WSGI twin: the same views, URLs and
middleware through ``config/wsgi.py``, so the floor is measured on the server that serves
Cascade's POSTs too.
"""

from __future__ import annotations

import gc

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.urls import include, path
from django.views.decorators.http import require_POST

from bench.bench_live import lift_decision_limit
from config.asgi import application as cascade  # sets Django up
from config.wsgi import application as wsgi_application  # noqa: F401 - gunicorn serves it
from exercises import broadcast

TABLE = "bench_floor"
TEAMS_GROUP = "floor-teams"

lift_decision_limit()


def _insert(body: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (body) VALUES (%s) RETURNING id", [body])
        return cursor.fetchone()[0]


@require_POST
def floor_insert(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(_insert(request.POST.get("body", ""))), content_type="text/plain")


@require_POST
def floor_release(request: HttpRequest) -> HttpResponse:
    seq = _insert("release")
    head = f"<!--seq:{seq}-->"
    html = head + "x" * max(0, int(request.POST.get("bytes", "0")) - len(head))
    # Under Daphne asgiref runs the send on the server's loop. A WSGI worker has no loop,
    # and asgiref's would be a new one (and a new Redis connection) per call, so it sends
    # from the process's one long-lived loop, as Cascade's publish does (exercises.broadcast).
    send = async_to_sync if isinstance(request, ASGIRequest) else broadcast.async_to_sync
    send(get_channel_layer().group_send)(TEAMS_GROUP, {"type": "floor.push", "html": html})
    return HttpResponse(str(seq), content_type="text/plain")


PAGE = Template(
    "<!doctype html><html><head><title>Floor</title></head><body>{{ body }}</body></html>"
)


PAGE_OVERHEAD = len(PAGE.render(Context({"body": ""})))


def floor_page(request: HttpRequest) -> HttpResponse:
    size = max(0, int(request.GET.get("bytes", "0")) - PAGE_OVERHEAD)
    return HttpResponse(PAGE.render(Context({"body": "x" * size})))


class FloorConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        team = self.scope["query_string"].decode().partition("team=")[2]
        self.groups_joined = [TEAMS_GROUP, f"floor-team-{int(team)}"]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def dispatch(self, message) -> None:
        # As exercises/consumers.py: without Channels' close_old_connections hop per
        # message (this consumer never touches the database).
        await getattr(self, message["type"].replace(".", "_"))(message)

    async def floor_push(self, message) -> None:
        await self.send(text_data=message["html"])

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)


urlpatterns = [
    path("floor/insert/", floor_insert),
    path("floor/release/", floor_release),
    path("floor/page/", floor_page),
    path("", include(settings.ROOT_URLCONF)),
]
settings.ROOT_URLCONF = __name__
floor_socket = FloorConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"].startswith("/floor/ws/"):
        return await floor_socket(scope, receive, send)
    return await cascade(scope, receive, send)


gc.collect()
gc.freeze()
