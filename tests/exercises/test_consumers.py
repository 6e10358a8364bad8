"""The exercise socket: who may connect, what each viewer receives, replay and ordering."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.asgi import application as asgi_application
from exercises import broadcast, clock, consumers, engine, events, scheduler, tasks
from exercises.routing import websocket_urlpatterns
from exercises.visibility import CONTROL, Viewer, team_perspective
from scenarios.models import Inject, Prompt
from tests import factories
from tests.sockets import until_answered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SEQ = re.compile(r"^<!--seq:(\d+)-->")
APP = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def no_scheduler_thread(settings):
    settings.CASCADE_INPROCESS_SCHEDULER = False


def build_world():
    """A running exercise: cloud (bob), hospital (carol), bank (dave); alice facilitates."""
    alice = factories.make_user("alice")
    org_a, org_b = factories.make_organization("Nimbus"), factories.make_organization("Mary's")
    bob, carol, mallory = (factories.make_user(n) for n in ("bob", "carol", "mallory"))
    factories.add_member(bob, org_a)
    factories.add_member(carol, org_b)
    exercise, cloud, hospital, bank, dave = factories.make_three_team_exercise(
        facilitator=alice,
        cloud_player=bob,
        hospital_player=carol,
        cloud_org=org_a,
        hospital_org=org_b,
    )
    observer = factories.add_participant(exercise, "observer").user
    engine.exercise_start(exercise=exercise, actor=alice)
    return {
        "exercise": exercise,
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "mallory": mallory,
        "observer": observer,
        "cloud": cloud,
        "hospital": hospital,
        "bank": bank,
    }


@pytest_asyncio.fixture
async def world():
    return await database_sync_to_async(build_world)()


def db(fn, *args, **kwargs):
    return database_sync_to_async(fn)(*args, **kwargs)


async def open_socket(exercise, user, *, last_seq=0, hello=True):
    communicator = WebsocketCommunicator(APP, f"/ws/exercises/{exercise.code}/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert connected, code
    if hello:
        await communicator.send_json_to({"type": "hello", "last_seq": last_seq})
    return communicator


async def frames(communicator):
    """Every frame until the socket goes quiet, as (seq, html): first all it owed before
    a ping (a replay, however slow), then live pushes until 0.3 s of silence."""
    owed = (await until_answered(communicator))[:-1]
    while not await communicator.receive_nothing(timeout=0.3):
        owed.append(await communicator.receive_from())
    received = []
    for html in owed:
        match = SEQ.match(html)
        received.append((int(match.group(1)) if match else None, html))
    return received


def seqs(received):
    return [seq for seq, _ in received]


def release(world, key):
    exercise = world["exercise"]
    inject = Inject.objects.get(scenario=exercise.scenario, key=key)
    return engine.inject_release(exercise=exercise, inject=inject, actor=world["alice"])


def share(world, tlp, recipients, token):
    return engine.share_create(
        exercise=world["exercise"],
        from_team=world["cloud"],
        author=world["bob"],
        tlp=tlp,
        title=f"{tlp} intel",
        body="Indicators",
        recipients=recipients,
        client_token=token,
    )


async def test_it_rejects_anonymous_and_outsiders(world):
    from django.contrib.auth.models import AnonymousUser

    for user, expected in ((AnonymousUser(), 4401), (world["mallory"], 4403)):
        communicator = WebsocketCommunicator(APP, f"/ws/exercises/{world['exercise'].code}/")
        communicator.scope["user"] = user
        connected, code = await communicator.connect()
        assert (connected, code) == (False, expected)
        await communicator.disconnect()


async def test_it_authenticates_from_the_session_cookie(world):
    client = Client()
    await db(client.force_login, world["bob"])
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        asgi_application,
        f"/ws/exercises/{world['exercise'].code}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "hello", "last_seq": 0})
    assert seqs(await frames(communicator))
    await communicator.disconnect()


async def test_it_replays_only_what_each_viewer_may_see(world):
    bob = await open_socket(world["exercise"], world["bob"])
    carol = await open_socket(world["exercise"], world["carol"])
    observer = await open_socket(world["exercise"], world["observer"])
    alice = await open_socket(world["exercise"], world["alice"])
    # 1 started, 2 stage, 3 SIEM alert to the cloud only, 4 prompt to every team.
    assert seqs(await frames(alice)) == [1, 2, 3, 4]
    assert seqs(await frames(bob)) == [1, 2, 3, 4]
    assert seqs(await frames(carol)) == [1, 2, 4]
    assert seqs(await frames(observer)) == [1, 2]
    for communicator in (bob, carol, observer, alice):
        await communicator.disconnect()


async def test_the_replay_reads_the_events_table_alone(world):
    """A connect's first read (seq and audience of every later event) touches only the
    events: Event's default ordering, by exercise first, would join the exercise table to
    sort by the exercise's own ordering, on every socket's connect."""

    def replay():
        viewer = Viewer(kind="player", team_id=world["cloud"].pk)
        with CaptureQueriesContext(connection) as queries:
            frames = consumers.visible_frames(world["exercise"].pk, viewer, after=0)
        return frames, [query["sql"] for query in queries]

    frames, sql = await db(replay)
    assert [seq for seq, _ in frames] == [1, 2, 3, 4]
    assert '"visibility"' in sql[0]
    assert "JOIN" not in sql[0], sql[0]


async def test_it_never_pushes_a_teams_red_or_strict_share_to_other_teams(world):
    bob = await open_socket(world["exercise"], world["bob"])
    carol = await open_socket(world["exercise"], world["carol"])
    dave = await open_socket(world["exercise"], world["dave"])
    for communicator in (bob, carol, dave):
        await frames(communicator)
    await db(share, world, "RED", [world["bank"]], "r1")
    await db(share, world, "AMBER+STRICT", [world["bank"]], "a1")
    assert await carol.receive_nothing(timeout=0.5)
    assert len(await frames(dave)) == 2
    assert len(await frames(bob)) == 2
    # A CLEAR share reaches everyone, the isolated team included.
    await db(share, world, "CLEAR", [], "c1")
    assert len(await frames(carol)) == 1
    for communicator in (bob, carol, dave):
        await communicator.disconnect()


async def test_it_keeps_a_team_only_inject_from_other_teams(world):
    carol = await open_socket(world["exercise"], world["carol"])
    await frames(carol)
    exercise = world["exercise"]

    def cloud_only_inject():
        inject = Inject.objects.create(
            scenario=exercise.scenario,
            stage=exercise.scenario.start_stage,
            key="cloud-only",
            title="Only for the cloud",
            audience="roles",
        )
        inject.audience_roles.add(world["cloud"].role)
        return release(world, "cloud-only")

    await db(cloud_only_inject)
    assert await carol.receive_nothing(timeout=0.5)
    await carol.disconnect()


async def test_it_replays_after_reconnect_in_order_without_duplicates(world):
    first = await open_socket(world["exercise"], world["bob"])
    seen = seqs(await frames(first))
    await first.disconnect()
    await db(release, world, "news")
    await db(share, world, "GREEN", [], "g1")
    second = await open_socket(world["exercise"], world["bob"], last_seq=seen[-1])
    replayed = seqs(await frames(second))
    assert replayed == [seen[-1] + 1, seen[-1] + 2]
    # A live event after the replay arrives once, with the next seq.
    await db(share, world, "GREEN", [], "g2")
    assert seqs(await frames(second)) == [replayed[-1] + 1]
    # A second hello with an old seq does not resend anything.
    await second.send_json_to({"type": "hello", "last_seq": 0})
    assert await second.receive_nothing(timeout=0.3)
    await second.disconnect()


async def test_it_drops_pushes_before_hello_and_replays_them_instead(world):
    bob = await open_socket(world["exercise"], world["bob"], hello=False)
    await db(release, world, "news")
    assert await bob.receive_nothing(timeout=0.3)
    await bob.send_json_to({"type": "hello", "last_seq": 4})
    assert seqs(await frames(bob)) == [5]
    await bob.disconnect()


async def test_it_orders_pushes_that_arrive_out_of_order(world, monkeypatch):
    alice = await open_socket(world["exercise"], world["alice"])
    assert seqs(await frames(alice)) == [1, 2, 3, 4]
    held = []
    monkeypatch.setattr(broadcast, "publish", lambda event, marks: held.append(event))
    await db(release, world, "news")
    await db(share, world, "GREEN", [], "g1")
    assert [e.seq for e in held] == [5, 6]
    layer = get_channel_layer()
    group = broadcast.group_name(world["exercise"].pk, CONTROL)
    await layer.group_send(group, {"type": "event.push", "seq": 6, "html": "<!--seq:6-->six"})
    await layer.group_send(group, {"type": "event.push", "seq": 5, "html": "<!--seq:5-->five"})
    received = await frames(alice)
    assert seqs(received) == [5, 6]
    assert received[1][1] == "<!--seq:6-->six"
    await alice.disconnect()


async def test_it_answers_pings_and_survives_bad_frames(world):
    bob = await open_socket(world["exercise"], world["bob"])
    await frames(bob)
    await bob.send_json_to({"type": "ping"})
    assert 'id="live-heartbeat"' in await bob.receive_from()
    for bad, message in (
        ("not json", "Malformed"),
        (json.dumps({"no": "type"}), "Malformed"),
        (json.dumps({"type": "advance"}), "Unknown message type"),
        (json.dumps({"type": "hello", "last_seq": "x"}), "Malformed"),
        (json.dumps({"type": "ping", "pad": "x" * 17000}), "too large"),
    ):
        await bob.send_to(text_data=bad)
        frame = await bob.receive_from()
        assert message in frame
        assert "<!--seq" not in frame
    await bob.send_json_to({"type": "ping"})
    assert "live-heartbeat" in await bob.receive_from()
    await bob.disconnect()


async def test_it_pushes_a_repeated_decision_submission_once(world):
    alice = await open_socket(world["exercise"], world["alice"])
    await frames(alice)
    exercise = world["exercise"]

    def decide(token):
        prompt = Prompt.objects.get(scenario=exercise.scenario, key="first-move")
        return engine.decision_submit(
            exercise=exercise,
            team=world["cloud"],
            prompt=prompt,
            author=world["bob"],
            client_token=token,
            option=prompt.options.get(key="isolate"),
        )

    await db(decide, "same")
    await db(decide, "same")
    received = await frames(alice)
    decision_seqs = await db(
        lambda: list(
            exercise.events.filter(kind="decision.submitted").values_list("seq", flat=True)
        )
    )
    assert seqs(received) == decision_seqs
    assert len(decision_seqs) == 1
    await alice.disconnect()


async def test_it_ignores_a_stale_timed_task_after_pause(world):
    exercise = world["exercise"]

    def add_timed_and_pause():
        factories.add_timed_inject(exercise, "t30", 0, title="Thirty seconds in")
        exercise.refresh_from_db()
        stale = exercise.epoch
        engine.exercise_pause(exercise=exercise, actor=world["alice"])
        return stale

    stale = await db(add_timed_and_pause)
    bob = await open_socket(exercise, world["bob"])
    await frames(bob)
    assert await db(tasks.release_due, exercise.pk, stale) is False
    assert await bob.receive_nothing(timeout=0.5)
    await db(engine.exercise_resume, exercise=exercise, actor=world["alice"])
    # Resuming releases what fell due: the resume event, then the timed inject.
    assert len(await frames(bob)) == 2
    await bob.disconnect()


async def test_it_pushes_a_timed_inject_on_time_in_the_embedded_default(settings):
    """In-memory layer + in-process scheduler: the timed inject reaches the socket, not
    before it is due. How late it may come is not asserted: on a loaded machine the timer
    thread and the render wait for the CPU (the lag is a metric, config/metrics.py)."""
    settings.CASCADE_INPROCESS_SCHEDULER = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    alice, bob = await db(factories.make_user, "alice"), await db(factories.make_user, "bob")

    def lobby():
        exercise = factories.make_exercise(facilitator=alice)
        factories.add_player(exercise, factories.make_team(exercise, "cloud"), bob)
        factories.add_timed_inject(exercise, "soon", 1, title="One second in")
        return exercise

    exercise = await db(lobby)
    socket = await open_socket(exercise, bob)
    await until_answered(socket)
    await db(engine.exercise_start, exercise=exercise, actor=alice)
    started = time.monotonic()
    while True:
        frame = await socket.receive_from(timeout=5)
        if "One second in" in frame:
            break
    assert time.monotonic() - started > 0.9
    await socket.disconnect()


async def test_it_catches_up_timed_work_lost_in_a_restart_when_a_socket_connects(
    settings, monkeypatch
):
    """Embedded default: the timers died with the last process. The first socket of the
    new one releases what fell due meanwhile and schedules what is still ahead. Time is a
    manual clock, so how fast the machine runs the test changes nothing."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CASCADE_INPROCESS_SCHEDULER = True
    alice, bob = await db(factories.make_user, "alice"), await db(factories.make_user, "bob")
    start = timezone.now()

    def running_without_timers():
        exercise = factories.make_exercise(facilitator=alice)
        factories.add_player(exercise, factories.make_team(exercise, "cloud"), bob)
        factories.add_timed_inject(exercise, "overdue", 1, title="Fell due while down")
        factories.add_timed_inject(exercise, "ahead", 3, title="Ahead")
        engine.exercise_start(exercise=exercise, actor=alice)
        return exercise

    # The "previous process": its timers live on its clock, which is dropped unrun.
    with clock.use(clock.ManualClock(start)):
        exercise = await db(running_without_timers)
    # The restarted process, two seconds in: one inject is overdue, one ahead.
    with clock.use(clock.ManualClock(start + timedelta(seconds=2))) as restarted:
        monkeypatch.setattr(scheduler._Recovery, "done", False)
        socket = await open_socket(exercise, bob)
        received = await frames(socket)
        replayed = [html for _, html in received]
        assert "Fell due while down" in replayed[-1]  # released on connect, after the start
        assert sum("Fell due while down" in html for html in replayed) == 1
        assert not any("Ahead" in html for html in replayed)
        assert restarted.pending() == 1  # the sweep for what is ahead
        await db(restarted.advance, 1)
        assert "Ahead" in await socket.receive_from(timeout=5)
        assert scheduler.needs_recovery() is False
        await socket.disconnect()


def decide_as(world, team_key, option, token):
    exercise = world["exercise"]
    team = world[team_key]
    prompt = Prompt.objects.get(scenario=exercise.scenario, key="first-move")
    author = world[{"cloud": "bob", "hospital": "carol", "bank": "dave"}[team_key]]
    engine.decision_submit(
        exercise=exercise,
        team=team,
        prompt=prompt,
        author=author,
        client_token=token,
        option=prompt.options.get(key=option),
    )
    return exercise.events.filter(kind=events.DECISION_SUBMITTED).latest("seq").seq


@pytest.fixture
def loader_calls(monkeypatch):
    """Count the consumer's database reads (replay and catch-up), keeping them working."""
    calls = []
    real = consumers.visible_frames

    def counting(exercise_id, viewer, *, after, upto=None):
        calls.append((after, upto))
        return real(exercise_id, viewer, after=after, upto=upto)

    monkeypatch.setattr(consumers, "visible_frames", counting)
    return calls


async def test_it_pushes_a_team_its_decisions_between_other_teams_without_reading(
    world, loader_calls
):
    bob = await open_socket(world["exercise"], world["bob"])
    await frames(bob)
    assert len(loader_calls) == 1  # the hello's replay
    mine = []
    for step, (team, option) in enumerate(
        [
            ("hospital", "isolate"),
            ("cloud", "isolate"),
            ("bank", "pay"),
            ("hospital", "pay"),
            ("cloud", "pay"),
            ("bank", "isolate"),
            ("cloud", "isolate"),
        ]
    ):
        seq = await db(decide_as, world, team, option, f"t{step}")
        if team == "cloud":
            mine.append(seq)
    assert seqs(await frames(bob)) == mine
    assert len(loader_calls) == 1  # every push skipped other teams' seqs, none was read
    await bob.disconnect()


async def test_it_reads_a_lost_visible_push_before_the_next_one(world, loader_calls, monkeypatch):
    exercise = world["exercise"]
    bob = await open_socket(exercise, world["bob"])
    await frames(bob)
    cloud_group = broadcast.group_name(exercise.pk, team_perspective(world["cloud"].pk))
    lose = {"on": True}
    real_deliver = broadcast._deliver

    def lossy(messages):
        real_deliver([(g, m) for g, m in messages if not (lose["on"] and g == cloud_group)])

    monkeypatch.setattr(broadcast, "_deliver", lossy)
    lost = await db(decide_as, world, "cloud", "isolate", "t1")
    lose["on"] = False
    other = await db(decide_as, world, "hospital", "pay", "t2")
    assert await bob.receive_nothing(timeout=0.3)
    mine = await db(decide_as, world, "cloud", "pay", "t3")
    # The push of `mine` names `lost` as the previous visible event: read first, in order.
    assert seqs(await frames(bob)) == [lost, mine]
    assert loader_calls[-1] == (lost - 1, mine - 1)
    assert other not in seqs(await frames(bob))

    # A push to all teams after a lost team-only one: its team_prev names the lost one.
    lose["on"] = True
    lost = await db(decide_as, world, "cloud", "isolate", "t4")
    lose["on"] = False
    await db(release, world, "news")
    released = await db(lambda: exercise.events.latest("seq").seq)
    assert seqs(await frames(bob)) == [lost, released]
    # Carol's socket (another team) gets the release at once, with no catch-up read.
    reads = len(loader_calls)
    carol = await open_socket(exercise, world["carol"])
    await frames(carol)
    await db(share, world, "GREEN", [], "g1")
    assert len(seqs(await frames(carol))) == 1
    assert len(loader_calls) == reads + 1  # only carol's hello replay
    await bob.disconnect()
    await carol.disconnect()
