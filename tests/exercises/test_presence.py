"""Presence: who has a live socket, entries expiring without a heartbeat (manual clock),
the socket writing and removing its entry, the lobby's "Joined" column and the console."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.urls import reverse

from exercises import clock, presence
from exercises.models import Participant
from tests import factories
from tests.exercises.test_consumers import open_socket
from tests.sockets import until_answered

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_alive_keeps_entries_that_have_not_expired():
    entries = {"1:a": 100.0, "1:b": 50.0, "2:c": 50.0, "3:d": 120.0}
    assert presence.alive(entries, 60.0) == {1, 3}
    assert presence.alive(entries, 100.0) == {3}
    assert presence.alive({}, 0.0) == set()


def test_an_entry_expires_without_a_heartbeat_and_lives_on_with_one():
    with clock.use(clock.ManualClock(START)) as manual:
        presence.touch(7, 1, "laptop")
        presence.touch(7, 2, "phone")
        assert presence.present(7) == {1, 2}
        manual.advance(presence.TTL - 20)
        presence.touch(7, 1, "laptop")  # participant 1's heartbeat; 2 is silent
        manual.advance(21)
        assert presence.present(7) == {1}
        manual.advance(presence.TTL)
        assert presence.present(7) == set()
        assert presence.present(8) == set()  # per exercise


def test_a_participant_stays_present_while_any_of_their_sockets_is_open():
    with clock.use(clock.ManualClock(START)):
        presence.touch(7, 1, "tab-1")
        presence.touch(7, 1, "tab-2")
        presence.leave(7, 1, "tab-1")
        assert presence.present(7) == {1}
        presence.leave(7, 1, "tab-2")
        assert presence.present(7) == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_socket_is_present_from_connect_to_disconnect(settings):
    settings.CASCADE_INPROCESS_SCHEDULER = False
    exercise, bob_seat, _ = await database_sync_to_async(_lobby_with_bob)()
    bob = await database_sync_to_async(lambda: bob_seat.user)()
    assert presence.present(exercise.pk) == set()
    socket = await open_socket(exercise, bob)
    try:
        await until_answered(socket)  # the connect handler (and its presence write) is done
        assert await database_sync_to_async(presence.present)(exercise.pk) == {bob_seat.pk}
    finally:
        await socket.disconnect()
    assert await database_sync_to_async(presence.present)(exercise.pk) == set()


def _lobby_with_bob():
    alice = factories.make_user("alice")
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud")
    bob_seat = factories.add_player(exercise, cloud, factories.make_user("bob"))
    return exercise, bob_seat, Participant.objects.get(user=alice)


@pytest.mark.django_db
def test_the_lobby_joins_only_people_who_opened_the_room(client):
    exercise, bob_seat, alice_seat = _lobby_with_bob()
    client.force_login(alice_seat.user)
    lobby = reverse("exercises:lobby", args=[exercise.code])
    html = client.get(lobby).content.decode()
    joined = html.split('class="joined">')[1].split("</td>")[0]
    assert "seated, not in the room: bob" in joined
    assert "presence-here" not in joined

    presence.touch(exercise.pk, bob_seat.pk, "socket-1")
    joined = client.get(lobby).content.decode().split('class="joined">')[1].split("</td>")[0]
    assert "presence-here" in joined
    assert "not in the room" not in joined
    panel = client.get(reverse("exercises:presence", args=[exercise.code])).content.decode()
    assert 'aria-label="1 of 1 connected"' in panel  # the cloud team
    assert 'aria-label="0 of 1 connected"' in panel  # the control cell: alice is not
