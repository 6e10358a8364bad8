"""Issue 13 #10: a user's sockets close when they log out or their password changes, and
nothing more reaches them; other users' sockets stay open."""

from __future__ import annotations

import asyncio
import threading

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from config.asgi import application as asgi_application
from tests.exercises.test_consumers import (
    build_world,
    db,
    frames,
    no_scheduler_thread,  # noqa: F401  (autouse)
    open_socket,
    share,
)
from tests.sockets import until_answered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

PASSWORD = "correct horse battery"


@pytest_asyncio.fixture
async def world():
    return await db(build_world)


def logged_in_client(user) -> Client:
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


async def session_socket(world, client: Client) -> WebsocketCommunicator:
    """A socket authenticated by the client's session cookie, as a browser opens it."""
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        asgi_application,
        f"/ws/exercises/{world['exercise'].code}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "hello", "last_seq": 0})
    await frames(communicator)
    return communicator


async def assert_closed_and_deaf(world, sockets, bystander) -> None:
    for communicator in sockets:
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4401,
        }
    await db(share, world, "CLEAR", [], "after")
    for communicator in sockets:
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
    assert len(await frames(bystander)) == 1  # others still receive it
    await bystander.disconnect()


async def test_logging_out_closes_every_socket_of_the_user(world):
    client = await db(logged_in_client, world["bob"])
    bob_sockets = [await session_socket(world, client) for _ in range(2)]
    carol = await open_socket(world["exercise"], world["carol"])
    await frames(carol)
    response = await db(client.post, reverse("accounts:logout"))
    assert response.status_code == 302
    await assert_closed_and_deaf(world, bob_sockets, carol)


async def test_changing_the_password_on_its_page_closes_the_users_sockets(world):
    client = await db(logged_in_client, world["bob"])
    bob = await session_socket(world, client)
    carol = await open_socket(world["exercise"], world["carol"])
    await frames(carol)
    form = {
        "old_password": PASSWORD,
        "new_password1": "a much longer passphrase 42",
        "new_password2": "a much longer passphrase 42",
    }
    response = await db(client.post, reverse("accounts:password_change"), form)
    assert response.status_code == 302
    await assert_closed_and_deaf(world, [bob], carol)


async def test_set_password_and_save_anywhere_closes_the_users_sockets(world):
    """The admin and ``manage.py changepassword`` change it this way."""
    client = await db(logged_in_client, world["bob"])
    bob = await session_socket(world, client)
    carol = await open_socket(world["exercise"], world["carol"])
    await frames(carol)

    def change():
        user = type(world["bob"]).objects.get(pk=world["bob"].pk)
        user.first_name = "Robert"
        user.save()  # a save that does not touch the password closes nothing
        user.set_password("another passphrase 77")
        user.save()

    await db(change)
    await assert_closed_and_deaf(world, [bob], carol)


async def test_a_save_that_keeps_the_password_leaves_the_sockets_open(world):
    client = await db(logged_in_client, world["bob"])
    bob = await session_socket(world, client)

    def rename():
        user = type(world["bob"]).objects.get(pk=world["bob"].pk)
        user.first_name = "Robert"
        user.save()

    await db(rename)
    assert await until_answered(bob)
    await bob.disconnect()


async def test_after_a_password_change_another_sessions_socket_cannot_reconnect(world):
    phone = await db(logged_in_client, world["bob"])
    laptop = Client()
    assert await db(laptop.login, username="bob", password=PASSWORD)
    form = {
        "old_password": PASSWORD,
        "new_password1": "a much longer passphrase 42",
        "new_password2": "a much longer passphrase 42",
    }
    await db(laptop.post, reverse("accounts:password_change"), form)
    cookie = phone.cookies[django_settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        asgi_application,
        f"/ws/exercises/{world['exercise'].code}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    assert await communicator.connect() == (False, 4401)
    await communicator.disconnect()
    still_in = await session_socket(world, laptop)  # the session that changed it stays in
    await still_in.disconnect()


async def test_a_socket_is_authenticated_while_the_shared_sync_thread_is_busy(world):
    """The session and user load in the worker pool (config/socket_auth.py): with the one
    thread-sensitive thread of the process held, as by a burst of other work, a browser's
    socket still authenticates, joins and replays. Channels' AuthMiddlewareStack queued
    its handshake behind that thread."""
    client = await db(logged_in_client, world["bob"])
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)())
    try:
        bob = await asyncio.wait_for(session_socket(world, client), timeout=10)
    finally:
        release.set()
        await busy
    await bob.disconnect()


async def test_a_socket_with_a_stale_session_is_refused(world):
    """The password changed after the cookie was issued: the session's hash no longer
    matches and the socket is closed as anonymous, as a page request would redirect."""
    client = await db(logged_in_client, world["bob"])
    await db(_change_password, world["bob"])
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        asgi_application,
        f"/ws/exercises/{world['exercise'].code}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


def _change_password(user) -> None:
    user.set_password("another passphrase entirely")
    user.save()
