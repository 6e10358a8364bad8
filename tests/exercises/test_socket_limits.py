"""Issue 13 #4: no share, however large, and no event, however forged, yields a frame
longer than the push cap; the socket stays open."""

from __future__ import annotations

import pytest
import pytest_asyncio

from config.limits import SOCKET_PUSH_BYTES, TEXT_SHARE, TEXT_TITLE
from exercises import broadcast, engine
from exercises.models import Exercise
from tests import factories
from tests.exercises.test_consumers import (
    build_world,
    db,
    frames,
    no_scheduler_thread,  # noqa: F401  (autouse)
    open_socket,
    seqs,
)
from tests.sockets import until_answered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture
async def world():
    return await db(build_world)


# Escaping makes `"` six bytes and a 4-byte character stays 4: the worst a body can weigh.
WORST_BODY = ('"\U0001f4a5<' * (TEXT_SHARE // 3))[: TEXT_SHARE - 8] + "THE-END!"


def maximal_share(world, tlp="GREEN"):
    return engine.share_create(
        exercise=world["exercise"],
        from_team=world["cloud"],
        author=world["bob"],
        tlp=tlp,
        title="&" * TEXT_TITLE,
        body=WORST_BODY,
        recipients=[world["hospital"]],
        client_token="max",
    )


async def test_a_maximal_share_reaches_every_socket_under_the_cap_with_its_body_once(world):
    sockets = [await open_socket(world["exercise"], world[n]) for n in ("alice", "carol")]
    observer = await open_socket(world["exercise"], world["observer"])
    for communicator in (*sockets, observer):
        await frames(communicator)
    await db(maximal_share, world, "CLEAR")
    for communicator in (*sockets, observer):
        [(_, html)] = await frames(communicator)
        assert len(html.encode()) <= SOCKET_PUSH_BYTES
        assert html.count("THE-END!") == 1  # the body whole, once; elsewhere a preview
        assert "Too long to show here" not in html
        assert await until_answered(communicator)
    for communicator in (*sockets, observer):
        await communicator.disconnect()


def forge_oversize_event(world):
    """An event no engine verb writes: a share payload of 2 MiB (a legacy row, a bug)."""
    exercise = Exercise.objects.get(pk=world["exercise"].pk)
    marks = exercise.visibility_marks
    event = factories.add_event(
        exercise,
        "share.created",
        share_id=0,
        from_team_id=world["cloud"].pk,
        from_team_label="Nimbus",
        tlp="GREEN",
        title="T" * (1024 * 1024),
        body="B" * (2 * 1024 * 1024),
        recipient_ids=[],
        recipient_labels=[],
        about_inject="",
        visibility="teams",
    )
    broadcast.publish(event, marks)
    return event.seq


async def test_a_forged_oversize_event_still_yields_a_capped_frame_live_and_on_replay(world):
    carol = await open_socket(world["exercise"], world["carol"])
    start = max(seqs(await frames(carol)))
    seq = await db(forge_oversize_event, world)
    [(pushed_seq, html)] = await frames(carol)
    assert pushed_seq == seq
    assert len(html.encode()) <= 2048
    assert "TLP:GREEN" in html
    assert "Too long to show here" in html
    assert f'href="/exercises/{world["exercise"].code}/#event-{seq}"' in html
    assert await until_answered(carol)  # still open and answering
    replay = await open_socket(world["exercise"], world["carol"], last_seq=start)
    assert [(s, len(h.encode()) <= 2048) for s, h in await frames(replay)] == [(seq, True)]
    for communicator in (carol, replay):
        await communicator.disconnect()
