"""Every out-of-band panel a socket frame carries has its target on the page that receives
it (no ``htmx:oobErrorNoTarget`` on any live page).

A whole exercise is played through the engine; before each step every live page is
rendered as its viewer sees it, and each frame the step sends that viewer (through the
same ``perspective_for`` the socket uses) may only target ids that page has, or that an
earlier frame of the same step brought.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from exercises import access, engine
from exercises.fragments import render_event
from exercises.models import Exercise, Participant
from exercises.routing import websocket_urlpatterns
from exercises.visibility import Viewer, can_see_event, perspective_for
from scoring.models import Criterion
from tests import factories
from tests.sockets import until_answered

pytestmark = pytest.mark.django_db
APP = URLRouter(websocket_urlpatterns)


class _Ids(HTMLParser):
    """The ids in a document, and the targets of its out-of-band swaps."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        oob = found.get("hx-swap-oob")
        if oob is None:
            return
        # "true" / "innerHTML": the element's own id; "afterbegin:#feed": the selector's.
        self.targets.append(oob.split(":", 1)[1].lstrip("#") if ":" in oob else found["id"])


def parse(html: str) -> _Ids:
    parser = _Ids()
    parser.feed(html)
    return parser


PAGES = {
    "control": "exercises:control",
    "evaluate": "exercises:evaluate",
    "room": "exercises:room",
    "observe": "exercises:observe",
}


def page_viewers(exercise: Exercise, evaluator, observer, bob, carol, *others):
    """(client, url, viewer) for every live page of the exercise (``others``: more
    players, in their rooms)."""
    alice = exercise.participants.get(kind=Participant.Kind.FACILITATOR).user
    seats = [
        (alice, "control", False),
        (alice, "evaluate", True),
        (evaluator, "evaluate", True),
        (observer, "observe", False),
        (bob, "room", False),
        (carol, "room", False),
        *((player, "room", False) for player in others),
    ]
    for user, page, evaluating in seats:
        client = Client()
        client.force_login(user)
        participant = exercise.participants.get(user=user)
        viewer = access.viewer_for(participant)
        viewer = Viewer(viewer.kind, viewer.team_id, evaluating=evaluating)
        yield client, reverse(PAGES[page], args=[exercise.code]), viewer


def test_no_frame_targets_a_panel_its_page_does_not_have(alice, bob, carol, org_a, org_b):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    factories.add_player(exercise, cloud, bob)
    factories.add_player(exercise, hospital, carol)
    exercise.scenario.roles.create(
        key="isac", label="Sector ISAC", sector="finance", order=9, coordinating=True
    )
    isac = factories.make_team(exercise, "isac")
    ivan = factories.add_player(exercise, isac).user
    evaluator = factories.add_participant(exercise, "evaluator").user
    observer = factories.add_participant(exercise, "observer").user
    prompt = exercise.scenario.prompts.get(key="first-move")
    criterion = Criterion.objects.filter(rubric=exercise.scenario.rubric_id).first()
    news = exercise.scenario.injects.get(key="news")

    def decide(team, author, option, token):
        engine.decision_submit(
            exercise=exercise,
            team=team,
            prompt=prompt,
            author=author,
            client_token=token,
            option=prompt.options.get(key=option),
        )

    asked = []
    steps = [
        lambda: engine.exercise_start(exercise=exercise, actor=alice),
        lambda: engine.inject_release(exercise=exercise, inject=news, actor=alice),
        lambda: decide(cloud, bob, "pay", "t1"),
        lambda: decide(hospital, carol, "isolate", "t2"),
        lambda: engine.share_create(
            exercise=exercise,
            from_team=cloud,
            author=bob,
            tlp="CLEAR",
            title="Indicators",
            body="IPs",
            recipients=[hospital],
            client_token="s1",
        ),
        lambda: engine.share_create(
            exercise=exercise,
            from_team=cloud,
            author=bob,
            tlp="AMBER",
            title="Keys",
            body="Hashes",
            recipients=[hospital],
            client_token="s2",
        ),
        lambda: engine.share_reply(
            exercise=exercise,
            share=exercise.shares.get(client_token="s2"),
            team=hospital,
            author=carol,
            body="Thanks",
            client_token="y1",
        ),
        lambda: engine.share_create(
            exercise=exercise,
            from_team=cloud,
            author=bob,
            tlp="AMBER",
            title="Report to the ISAC",
            body="Entry through the VPN",
            recipients=[isac],
            client_token="s3",
        ),
        lambda: engine.share_summarize(
            exercise=exercise,
            team=isac,
            author=ivan,
            reports=[exercise.shares.get(client_token="s3")],
            tlp="GREEN",
            title="Patch your VPN",
            body="A member was breached through its VPN.",
            client_token="w1",
        ),
        lambda: engine.message_post(exercise=exercise, team=cloud, author=bob, body="On it"),
        lambda: asked.append(
            engine.rfi_ask(
                exercise=exercise,
                team=cloud,
                author=bob,
                question="Which hosts?",
                tlp="GREEN",
                to_team=None,
                client_token="r1",
            )
        ),
        lambda: engine.rfi_answer(exercise=exercise, rfi=asked[0], author=alice, answer="All"),
        lambda: engine.observation_record(
            exercise=exercise, team=cloud, criterion=criterion, evaluator=evaluator, rating="S"
        ),
        lambda: engine.exercise_pause(exercise=exercise, actor=alice),
        lambda: engine.exercise_resume(exercise=exercise, actor=alice),
        lambda: engine.prompt_close(exercise=exercise, prompt=prompt, actor=alice),
        lambda: engine.exercise_advance(exercise=exercise, actor=alice),
        lambda: engine.exercise_end(exercise=exercise, actor=alice),
    ]
    checked = 0
    for step in steps:
        before = exercise.events.count() and exercise.events.latest("seq").seq
        pages = [
            (parse(client.get(url).content.decode()).ids, viewer)
            for client, url, viewer in page_viewers(exercise, evaluator, observer, bob, carol, ivan)
        ]
        step()
        new_events = list(exercise.events.filter(seq__gt=before).order_by("seq"))
        for ids, viewer in pages:
            for event in new_events:
                if not can_see_event(event, viewer=viewer):
                    continue
                perspective = perspective_for(event, viewer=viewer)
                frame = parse(render_event(event, perspective=perspective))
                missing = [t for t in frame.targets if t not in ids]
                assert not missing, (event.kind, viewer, missing)
                ids |= frame.ids
                checked += len(frame.targets)
    assert checked > 50


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_evaluator_consoles_socket_gets_its_panels_and_the_control_consoles_not(
    settings,
):
    settings.CASCADE_INPROCESS_SCHEDULER = False
    exercise, alice, cloud, criterion = await database_sync_to_async(_evaluated)()
    sockets = {}
    for name, query in (("evaluate", "?view=evaluate"), ("control", "")):
        communicator = WebsocketCommunicator(APP, f"/ws/exercises/{exercise.code}/{query}")
        communicator.scope["user"] = alice
        assert (await communicator.connect())[0]
        last_seq = await database_sync_to_async(lambda: Exercise.objects.get().last_seq)()
        await communicator.send_json_to({"type": "hello", "last_seq": last_seq})
        await until_answered(communicator)  # the replay's reads are over before the write
        sockets[name] = communicator
    try:
        await database_sync_to_async(engine.observation_record)(
            exercise=exercise, team=cloud, criterion=criterion, evaluator=alice, rating="P"
        )
        evaluator_frame = await sockets["evaluate"].receive_from(timeout=10)
        control_frame = await sockets["control"].receive_from(timeout=10)
        assert 'id="ratings"' in evaluator_frame
        assert 'id="ratings"' not in control_frame
        assert 'hx-swap-oob="afterbegin:#feed"' in control_frame  # both get the event
    finally:
        for communicator in sockets.values():
            await communicator.disconnect()


def _evaluated():
    alice = factories.make_user("alice")
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud")
    engine.exercise_start(exercise=exercise, actor=alice)
    criterion = Criterion.objects.filter(rubric=exercise.scenario.rubric_id).first()
    return exercise, alice, cloud, criterion
