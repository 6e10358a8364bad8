"""Issue 13 #4: no share, however large, and no event, however forged, yields a frame
longer than the push cap; the socket stays open."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.limits import SOCKET_PUSH_BYTES, TEXT_SHARE, TEXT_TITLE
from exercises import broadcast, engine
from exercises.consumers import MAX_FRAME, ExerciseConsumer
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
from tests.sockets import HEARTBEAT, until_answered

pytestmark = pytest.mark.django_db(transaction=True)


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


@pytest.mark.asyncio
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


@pytest.mark.asyncio
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


# ---------------------------------------------------------------- issue 13 #11: any input


def nested(depth: int) -> str:
    return '{"type": "hello", "last_seq": ' + "[" * depth + "]" * depth + "}"


def socket_inputs():
    """Anything a hostile browser may send: JSON of any shape (nested to any depth, with
    the fields the consumer reads in any type), text, bytes, huge frames."""
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=30),
    )
    value = st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner)
    )
    typed = st.fixed_dictionaries(
        {"type": st.sampled_from(["hello", "ping", "share", ""]) | value},
        optional={"last_seq": value},
    )
    text = st.one_of(
        typed.map(json.dumps),
        value.map(json.dumps),
        st.integers(min_value=1, max_value=5000).map(nested),
        st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n),
        st.text(),
        st.integers(min_value=MAX_FRAME - 2, max_value=4 * MAX_FRAME).map(lambda n: "x" * n),
    )
    return st.one_of(text.map(lambda t: ("text", t)), st.binary().map(lambda b: ("bytes", b)))


def test_it_answers_every_input_and_stays_open():
    """Whatever arrives, the socket answers (an error frame, a heartbeat, a replay) and
    never closes: the next ping still gets its heartbeat."""
    world = build_world()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(inputs=st.lists(socket_inputs(), min_size=1, max_size=5))
    def fuzz(inputs):
        async_to_sync(_send_all)(world, inputs)

    fuzz()


async def _send_all(world, inputs) -> None:
    communicator = await open_socket(world["exercise"], world["carol"], hello=False)
    for kind, data in inputs:
        # send_input: send_to refuses empty frames, which a browser may send.
        await communicator.send_input({"type": "websocket.receive", kind: data})
    # Every well-formed ping among the inputs is answered too: count them, then read
    # every output up to the heartbeat of one more ping. None may be a close.
    pings = 1 + sum(kind == "text" and _is_ping(data) for kind, data in inputs)
    await communicator.send_json_to({"type": "ping"})
    while pings:
        output = await communicator.receive_output(timeout=10)
        assert output["type"] == "websocket.send", output
        pings -= HEARTBEAT in output["text"]
    assert await communicator.receive_nothing(timeout=0.05)
    await communicator.disconnect()


def _is_ping(text: str) -> bool:
    message = ExerciseConsumer._parse(text, None)
    return isinstance(message, dict) and message["type"] == "ping"


@pytest.mark.asyncio
async def test_a_2000_deep_message_gets_an_error_frame_not_a_crash(world):
    carol = await open_socket(world["exercise"], world["carol"], hello=False)
    for message in (nested(2000), "[" * 100_000, '{"type": "hello", "last_seq": 1e400}'):
        await carol.send_to(text_data=message)
        answer = await carol.receive_from(timeout=5)
        assert 'id="live-error"' in answer
    await carol.send_to(text_data=json.dumps({"type": "hello", "last_seq": 10**30}))
    assert "Malformed message." in await carol.receive_from(timeout=5)
    assert await until_answered(carol)
    await carol.disconnect()
