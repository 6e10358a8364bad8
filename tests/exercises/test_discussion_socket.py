"""Team threads over the exercise socket: the team and the control cell get each message,
no other team and no observer does; a socket that reconnects catches up in order."""

from __future__ import annotations

import pytest
import pytest_asyncio

from exercises import engine
from tests.exercises.test_consumers import build_world, db, frames, open_socket, seqs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def no_scheduler_thread(settings):
    settings.CASCADE_INPROCESS_SCHEDULER = False


@pytest_asyncio.fixture
async def world():
    return await db(build_world)


def post(world, author, body, team="cloud"):
    return engine.message_post(
        exercise=world["exercise"], team=world[team], author=author, body=body
    )


async def test_a_message_reaches_its_team_and_control_and_no_one_else(world):
    sockets = {
        name: await open_socket(world["exercise"], world[name])
        for name in ("bob", "carol", "dave", "observer", "alice")
    }
    for communicator in sockets.values():
        await frames(communicator)
    message = await db(post, world, world["bob"], "threadzq: rotate the keys")
    for name in ("carol", "dave", "observer"):
        assert await sockets[name].receive_nothing(timeout=0.5), name
    for name in ("bob", "alice"):
        received = await frames(sockets[name])
        assert seqs(received) == [message.event_seq], name
        html = received[0][1]
        assert f"beforeend:#thread-{world['cloud'].id}" in html
        assert "threadzq" in html
        assert "afterbegin:#feed" not in html  # a thread line stays out of the feed
    # The control cell's line into the hospital's thread: the cloud gets nothing of it.
    await db(post, world, world["alice"], "regulatorzq", team="hospital")
    assert await sockets["bob"].receive_nothing(timeout=0.5)
    carol_frames = await frames(sockets["carol"])
    assert "Simulation cell" in carol_frames[0][1]
    assert "from control" in carol_frames[0][1]
    for communicator in sockets.values():
        await communicator.disconnect()


async def test_a_dropped_socket_catches_up_on_the_thread_in_order(world):
    bob = await open_socket(world["exercise"], world["bob"])
    seen = seqs(await frames(bob))
    await bob.disconnect()
    posted = []
    for n in range(3):
        posted.append(await db(post, world, world["alice"], f"line-{n}"))
    bob = await open_socket(world["exercise"], world["bob"], last_seq=seen[-1])
    received = await frames(bob)
    assert seqs(received) == [m.event_seq for m in posted]
    assert [f"line-{n}" in html for n, (_, html) in enumerate(received)] == [True] * 3
    await bob.disconnect()


def ask_hospital(world):
    return engine.rfi_ask(
        exercise=world["exercise"],
        team=world["cloud"],
        author=world["bob"],
        question="rfizq: are you affected?",
        tlp="AMBER",
        to_team=world["hospital"],
        client_token="q",
    )


async def test_an_rfi_reaches_the_asker_the_addressee_and_control_only(world):
    sockets = {
        name: await open_socket(world["exercise"], world[name])
        for name in ("bob", "carol", "dave", "observer", "alice")
    }
    for communicator in sockets.values():
        await frames(communicator)
    rfi = await db(ask_hospital, world)
    for name in ("dave", "observer"):
        assert await sockets[name].receive_nothing(timeout=0.5), name
    for name, target in (
        ("bob", "#rfi-list"),
        ("carol", "#rfi-list"),
        ("alice", "#control-rfi-list"),
    ):
        html = (await frames(sockets[name]))[0][1]
        assert "rfizq" in html
        assert f"afterbegin:{target}" in html, name
    assert ("answer-" in html) is False  # control does not answer a team's question
    await db(
        engine.rfi_answer,
        exercise=world["exercise"],
        rfi=rfi,
        author=world["carol"],
        answer="answerzq",
    )
    for name in ("dave", "observer"):
        assert await sockets[name].receive_nothing(timeout=0.5), name
    for name in ("bob", "alice"):
        html = (await frames(sockets[name]))[0][1]
        assert f'id="rfi-{rfi.code}" hx-swap-oob="true"' in html
        assert "answerzq" in html
    for communicator in sockets.values():
        await communicator.disconnect()
