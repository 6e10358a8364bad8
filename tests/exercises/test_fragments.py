"""Socket fragments stay cheap: what a frequent event redraws, and how many queries it costs.

The frames of an event are rendered while its sockets wait (and a decision's inside the
submitting request), so these tests pin the query counts and that a frequent event
redraws only the part of the page it changes.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from channels.layers import BaseChannelLayer
from django.db import connection
from django.template.loader import render_to_string
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from exercises import broadcast, engine, fragments
from exercises import events as kinds
from exercises.fragments import (
    CONTROL_LOOK_KINDS,
    FEED_ITEM,
    PREVIEW_LOOK_KINDS,
    render_event,
    render_frames,
)
from exercises.models import Event, Exercise, Team
from exercises.templatetags.live_tags import _inject_row, icon
from scenarios.models import Inject
from tests import factories


@pytest.fixture
def running(alice, bob, carol, org_a, org_b) -> Exercise:
    ex = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(ex, "cloud", org_a)
    hospital = factories.make_team(ex, "hospital", org_b)
    factories.add_player(ex, cloud, bob)
    factories.add_player(ex, hospital, carol)
    engine.exercise_start(exercise=ex, actor=alice)
    ex.refresh_from_db()
    return ex


def team(exercise: Exercise, role_key: str) -> Team:
    return exercise.teams.get(role__key=role_key)


def decide(exercise: Exercise, author, role_key: str, option_key: str, token: str) -> Event:
    prompt = exercise.scenario.prompts.get(key="first-move")
    engine.decision_submit(
        exercise=exercise,
        team=team(exercise, role_key),
        prompt=prompt,
        author=author,
        client_token=token,
        option=prompt.options.get(key=option_key),
    )
    return exercise.events.filter(kind="decision.submitted").latest("seq")


def release_news(exercise: Exercise, alice) -> Event:
    news = exercise.scenario.injects.get(key="news")
    return engine.inject_release(exercise=exercise, inject=news, actor=alice).event


def test_it_renders_a_decisions_team_and_control_frames_from_its_event_alone(
    running, bob, django_assert_num_queries
):
    cloud = team(running, "cloud")
    decide(running, bob, "cloud", "pay", "t1")
    event = decide(running, bob, "cloud", "isolate", "t2")  # a revision
    with django_assert_num_queries(0):
        room, control = render_frames(event, [f"team-{cloud.id}", "control"])
    assert room.startswith(f"<!--seq:{event.seq}-->")
    assert 'id="prompt-first-move-status" hx-swap-oob="innerHTML"' in room
    assert "Your team decided" in room
    assert f"revision 2, by {bob.label}" in room
    assert f'id="decision-first-move-{cloud.code}" hx-swap-oob="true"' in control
    assert "revised" in control
    assert 'id="control-panel"' not in control


# The markup a decision's frames carry, byte for byte: decisions are the busiest event, so
# their rendering is tuned (one feed item for every look, cached icons, the kind's branch
# first); tuning must not change what the browser swaps in. Escaping, the line breaks of
# the text and the revision badge are all in it.
ICON = (
    '<svg class="icon" aria-hidden="true" focusable="false">'
    '<use href="/static/vendor/lucide/cascade-icons-1.62.0.svg#{}"></use></svg>'
)
DECIDED_ITEM = (
    '<div hx-swap-oob="afterbegin:#feed"><li class="feed-item kind-decisionsubmitted"'
    ' data-seq="42" id="event-42">\n'
    '  <span class="feed-time" title="Exercise clock">1:02:05</span>\n  \n  \n'
    f'    <span class="channel" role="img" aria-label="Decision">{ICON.format("vote")}</span>\n'
    '    <strong class="feed-title">Cloud &amp; Co &lt;A&gt; decided:'
    " Isolate &quot;now&quot; &amp; wait</strong>\n"
    '    <span class="badge">revised</span>\n'
    '    <div class="feed-body">Cut &lt;b&gt;links&lt;/b&gt;<br>then call</div>\n  \n  \n'
    "</li></div>"
)
DECIDED_STATUS = (
    '<div id="prompt-first-move-status" hx-swap-oob="innerHTML">\n'
    f'<p class="decided">{ICON.format("circle-check")} Your team decided:'
    ' <strong>Isolate &quot;now&quot; &amp; wait</strong> <span class="badge">revised</span>\n'
    '  <small class="muted">(revision 2, by Bob O&#x27;Neil)</small></p>\n'
    "<p><small>“Cut &lt;b&gt;links&lt;/b&gt;\nthen call”</small></p>\n\n</div>"
)
DECIDED_CELL = (
    f'<span id="decision-first-move-k3x9" hx-swap-oob="true">{ICON.format("circle-check")}'
    " Isolate &quot;now&quot; &amp; wait <small>“Cut &lt;b&gt;links&lt;/b&gt;\nthen call”</small>"
    ' <span class="badge">revised</span>\n</span>'
)
BARE_ITEM = (
    '<div hx-swap-oob="afterbegin:#feed"><li class="feed-item kind-decisionsubmitted"'
    ' data-seq="42" id="event-42">\n'
    '  <span class="feed-time" title="Exercise clock">1:02:05</span>\n  \n  \n'
    f'    <span class="channel" role="img" aria-label="Decision">{ICON.format("vote")}</span>\n'
    '    <strong class="feed-title">Cloud &amp; Co &lt;A&gt; decided</strong>\n'
    "    \n    \n  \n  \n</li></div>"
)
BARE_STATUS = (
    '<div id="prompt-first-move-status" hx-swap-oob="innerHTML">\n'
    f'<p class="decided">{ICON.format("circle-check")} Your team decided\n'
    '  <small class="muted">(revision 1)</small></p>\n\n\n</div>'
)
BARE_CELL = (
    f'<span id="decision-first-move-k3x9" hx-swap-oob="true">{ICON.format("circle-check")}'
    " \n</span>"
)


def decision_event(**changes) -> Event:
    """An unsaved decision event (its frames read nothing else), its payload of the kind's
    type."""
    payload = {
        "prompt": "first-move",
        "question": "What now?",
        "team_id": 7,
        "team_code": "k3x9",
        "team_label": "Cloud & Co <A>",
        "option": "isolate",
        "option_label": 'Isolate "now" & wait',
        "text": "Cut <b>links</b>\nthen call",
        "revision": 2,
        "author_label": "Bob O'Neil",
        "latency_seconds": 1.5,
    } | changes
    assert kinds.payload_errors(kinds.DECISION_SUBMITTED, payload) == []
    return Event(
        exercise_id=1,
        seq=42,
        kind="decision.submitted",
        payload=payload,
        visibility=Event.Visibility.SOME,
        team_ids=[7],
        clock_seconds=3725.4,
    )


@pytest.mark.parametrize(
    ("changes", "item", "status", "cell"),
    [
        ({}, DECIDED_ITEM, DECIDED_STATUS, DECIDED_CELL),
        (
            {"option": "", "option_label": "", "text": "", "revision": 1, "author_label": ""},
            BARE_ITEM,
            BARE_STATUS,
            BARE_CELL,
        ),
    ],
)
def test_it_renders_a_decisions_frames_to_the_same_markup(changes, item, status, cell):
    event = decision_event(**changes)
    frames = render_frames(event, ["team-7", "evaluator", "control"])
    assert frames == [
        "<!--seq:42-->" + item + status,
        "<!--seq:42-->" + item,
        "<!--seq:42-->" + item + cell,
    ]


def test_it_renders_the_same_frames_together_as_one_by_one(running, bob, alice):
    cloud = team(running, "cloud")
    decided = decide(running, bob, "cloud", "pay", "t1")
    released = release_news(running, alice)
    for event, perspectives in (
        (decided, [f"team-{cloud.id}", "control"]),
        (released, ["teams", "observer", "control"]),
    ):
        together = render_frames(event, perspectives)
        assert together == [render_event(event, perspective=p) for p in perspectives]


def test_it_pushes_only_the_inject_list_to_control_when_an_inject_is_released(
    running, alice, django_assert_num_queries
):
    event = release_news(running, alice)
    with django_assert_num_queries(0):  # the feed item is the event's payload alone
        teams = render_event(event, perspective="teams")
    assert "News: outage" in teams
    with django_assert_num_queries(2):  # the exercise, the stage's injects with their releases
        control = render_event(event, perspective="control")
    assert 'id="control-panel"' not in control  # no team × prompt table redrawn
    injects = control.split('<div id="control-injects" hx-swap-oob="true">')[1]
    news_row = injects.split("News: outage")[1].split("</li>")[0]
    assert '<span class="badge">released</span>' in news_row
    assert "Release News: outage" not in injects  # its button is gone


def test_it_keeps_the_inject_list_inside_a_redrawn_control_panel(client, running, alice):
    """Nested in the panel, the list must not carry its own out-of-band swap."""
    stage_event = running.events.get(kind="stage.entered")
    panel = render_event(stage_event, perspective="control")
    assert '<div id="control-injects">' in panel
    assert 'id="control-injects" hx-swap-oob' not in panel
    client.force_login(alice)
    page = client.get(f"/exercises/{running.code}/control/").content.decode()
    assert '<div id="control-injects">' in page
    assert 'aria-label="Release News: outage"' in page


class RecordingLayer(BaseChannelLayer):
    """Stands in for a Redis layer: records each send with the loop it ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, int, asyncio.AbstractEventLoop]] = []

    async def group_send(self, group, message):
        self.sent.append((group, message["seq"], asyncio.get_running_loop()))


def test_it_sends_every_frame_of_redis_layers_from_one_long_lived_loop(
    running, bob, alice, monkeypatch, django_capture_on_commit_callbacks
):
    layer = RecordingLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    hops = []
    hop = asyncio.run_coroutine_threadsafe

    def counted(coroutine, loop):
        hops.append(loop)
        return hop(coroutine, loop)

    monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", counted)
    cloud = team(running, "cloud")
    with django_capture_on_commit_callbacks(execute=True):
        decided = decide(running, bob, "cloud", "pay", "t1")
        released = release_news(running, alice)
    # (paying also released a cascade inject, between the two)
    groups = [(group, seq) for group, seq, _ in layer.sent if seq in (decided.seq, released.seq)]
    assert groups == [
        (f"exercise-{running.pk}-team-{cloud.pk}", decided.seq),
        (f"exercise-{running.pk}-evaluators", decided.seq),
        (f"exercise-{running.pk}-control", decided.seq),
        (f"exercise-{running.pk}", released.seq),
        (f"exercise-{running.pk}-observers", released.seq),
        (f"exercise-{running.pk}-evaluators", released.seq),
        (f"exercise-{running.pk}-control", released.seq),
    ]
    loops = {loop for _, _, loop in layer.sent}
    assert len(loops) == 1  # one loop, so one set of Redis connections, reused
    assert loops.pop().is_running()
    # Two hops for an event to every team (the players' frames, sent before the consoles'
    # are drawn), one for an event to some teams (the decision).
    seqs = {seq for _, seq, _ in layer.sent}
    to_every_team = {seq for group, seq, _ in layer.sent if group == f"exercise-{running.pk}"}
    assert decided.seq not in to_every_team
    assert released.seq in to_every_team
    assert len(hops) == len(seqs) + len(to_every_team)


def test_it_sends_the_players_frames_before_it_draws_the_consoles(
    running, alice, monkeypatch, django_capture_on_commit_callbacks
):
    layer = RecordingLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    drawn = []
    real = fragments._frame

    def frame(sources, perspective):
        drawn.append((perspective, [group for group, _, _ in layer.sent]))
        return real(sources, perspective)

    monkeypatch.setattr(fragments, "_frame", frame)
    with django_capture_on_commit_callbacks(execute=True):
        release_news(running, alice)
    teams, observers = f"exercise-{running.pk}", f"exercise-{running.pk}-observers"
    assert drawn == [
        ("teams", []),
        ("observer", []),
        ("evaluator", [teams, observers]),  # drawn once the players' frames were sent
        ("control", [teams, observers]),
    ]


class FailingLayer(RecordingLayer):
    """A Redis layer whose sends to the evaluators' group fail."""

    async def group_send(self, group, message):
        if group.endswith("-evaluators"):
            raise ConnectionError("Redis went away")
        await super().group_send(group, message)


def test_it_logs_a_failed_send_and_keeps_the_decision(
    running, bob, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    layer = FailingLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    cloud = team(running, "cloud")
    with django_capture_on_commit_callbacks(execute=True):
        decided = decide(running, bob, "cloud", "isolate", "t1")
    # The groups before the failure got the frame, the ones after it did not.
    assert [(group, seq) for group, seq, _ in layer.sent] == [
        (f"exercise-{running.pk}-team-{cloud.pk}", decided.seq)
    ]
    assert f"Could not publish event {decided.seq} of exercise {running.pk}" in caplog.text
    assert "Redis went away" in caplog.text
    assert running.decisions.get(team=cloud).revision == 1


def test_it_takes_a_decision_holding_the_exercise_lock_for_one_write(
    running, bob, carol, django_assert_max_num_queries
):
    """Decisions are the hottest write, and the exercise lock serialises the whole
    exercise: one read before any lock (window, exercise, seat, consequences), the team's
    decision row locked and found with its token, and only then the exercise row locked:
    on PostgreSQL in the statement that writes the seq, the event, the decision row and
    its revision (``events.write_team_event_if``); on SQLite read alone, then the writes
    (the window is not read again: no prompt closed since the caller read the exercise,
    ``events.window_closed_since``)."""
    cloud = team(running, "cloud")
    prompt = running.scenario.prompts.get(key="first-move")
    isolate = prompt.options.get(key="isolate")

    def submit(author, token: str):
        return engine.decision_submit(
            exercise=running,
            team=cloud,
            prompt=prompt,
            author=author,
            client_token=token,
            option=isolate,
        )

    submit(bob, "t1")
    with CaptureQueriesContext(connection) as captured:
        submit(bob, "t2")
    statements = [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]
    # the exercise row locked (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transaction
    # holds the write lock throughout), written out
    locked_at = next(
        i for i, sql in enumerate(statements) if re.search(r'FROM "?exercises_exercise"? e ', sql)
    )
    assert all(sql.split()[0] == "SELECT" for sql in statements[:locked_at])  # reads only
    if connection.vendor == "postgresql":
        # the lock, the exercise's seq and marks, the event, the decision's revised
        # columns and its new revision: one statement, the last
        assert len(statements) == 3 == locked_at + 1
        written = statements[locked_at]
        assert written.split()[0] == "WITH"
        assert "FOR UPDATE" in written
        assert 'UPDATE "exercises_exercise" x' in written
    else:
        assert len(statements) == 7
        written = "".join(statements[locked_at + 1 :])
        assert [sql.split()[0] for sql in statements[locked_at + 1 :]] == [
            "UPDATE", "INSERT", "UPDATE", "INSERT"
        ]  # fmt: skip
    for table in ("exercises_event", "exercises_decisionrevision"):
        assert f'INSERT INTO "{table}"' in written
    assert 'UPDATE "exercises_decision"' in written
    with django_assert_max_num_queries(4):  # a retried submission: same revision, no event
        assert submit(bob, "t2").revision == 2
    assert running.decisions.get(team=cloud).revision == 2
    with pytest.raises(engine.EngineError, match="Only the team's players"):
        submit(carol, "t3")


def test_it_draws_its_cached_icons_under_the_static_url_of_the_moment(settings):
    assert 'href="/static/vendor/lucide/cascade-icons-1.62.0.svg#vote"' in icon("vote")
    settings.STATIC_URL = "/assets/"
    assert 'href="/assets/vendor/lucide/cascade-icons-1.62.0.svg#vote"' in icon("vote")


# Every key a feed item reads, of any kind; a long body, so a share's preview is cut.
EVERY_KEY = {
    "title": "Title",
    "body": "Body " * 80,
    "channel": "news",
    "channel_label": "News",
    "tlp": "AMBER",
    "severity": "high",
    "sender": "Sender",
    "cascade": True,
    "expected_action": "Act",
    "stage": "s1",
    "from_team_label": "Cloud",
    "chain_labels": ["Cloud", "Bank"],
    "report_count": 2,
    "team_label": "Hospital",
    "to_team_label": "Cloud",
    "share_title": "Share",
    "reason": "Reason",
    "to_label": "the control cell",
    "question": "Question?",
    "seconds_to_answer": 75,
    "answer": "Answer",
    "option_label": "Isolate",
    "revision": 2,
    "text": "Text",
    "rating": "P",
    "criterion_title": "Criterion",
    "note": "Note",
    "message": "Message",
}


@pytest.mark.parametrize("kind", [*kinds.KINDS, "some.future-kind"])
def test_it_renders_a_feed_item_once_for_the_looks_its_kind_ignores(kind):
    """A frame's feed item is rendered once per look its kind reads (``CONTROL_LOOK_KINDS``,
    ``PREVIEW_LOOK_KINDS``) and shared by the others: so every other look must be the same
    markup, and a kind in those tables must read its flag."""
    event = Event(exercise_id=1, seq=5, kind=kind, payload=EVERY_KEY, clock_seconds=61)

    def item(is_control: bool, preview_shares: bool) -> str:
        context = {"event": event, "is_control": is_control, "preview_shares": preview_shares}
        return render_to_string(FEED_ITEM, context)

    for preview in (False, True):
        reads_control = item(True, preview) != item(False, preview)
        assert reads_control == (kind in CONTROL_LOOK_KINDS)
    for control in (False, True):
        reads_preview = item(control, True) != item(control, False)
        assert reads_preview == (kind in PREVIEW_LOOK_KINDS)


def test_a_replayed_frame_drawn_from_its_event_is_rendered_once_per_process(
    running, alice, monkeypatch
):
    """A thousand sockets joining replay the same events: a frame drawn from the event
    alone is rendered once; one showing current state (the console's inject list) is
    rendered each time, so a replay shows the list as it is then."""
    event = release_news(running, alice)
    expected = render_frames(event, ["teams"])[0]
    calls = []
    real = fragments.render_frames
    monkeypatch.setattr(fragments, "render_frames", lambda *a: calls.append(a) or real(*a))
    copies = [Event.objects.get(pk=event.pk) for _ in range(3)]  # as each socket reads it
    assert {render_event(e, perspective="teams") for e in copies} == {expected}
    assert len(calls) == 1
    for _ in range(2):  # the inject list is read and drawn again on each replay
        assert "control-injects" in render_event(event, perspective="control")
    assert len(calls) == 3


class FrameLayer(BaseChannelLayer):
    """Records each group's frame."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: dict[str, str] = {}

    async def group_send(self, group, message):
        self.frames[group] = message["html"]


@pytest.mark.django_db(transaction=True)  # the frames are drawn when the release commits
def test_a_release_posts_answer_is_its_console_frames_list_each_row_drawn_once(
    client, running, alice, monkeypatch
):
    """The POST's answer is the list the console's frame drew (drawn once, swapped out
    of band by both), each row rendered once per content, whether the inject goes to
    every team or to some; and once the exercise ended, its list offers no release."""
    stage = running.current_stage
    hospital = running.teams.get(role__key="hospital")
    Inject.objects.create(
        scenario=running.scenario,
        stage=stage,
        key="to-hospital",
        title="To the <hospital>",
        body="x",
        audience="roles",
        order=5,
    ).audience_roles.add(hospital.role)
    Inject.objects.create(
        scenario=running.scenario, stage=stage, key="spare", title="Spare", order=6
    )
    layer = FrameLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    _inject_row.cache_clear()  # the start's frame drew the fixture's rows
    drawn = []
    template_rendered.connect(
        receiver := lambda sender, template, **kw: drawn.append(template.name)
    )
    client.force_login(alice)
    try:
        for key, players, rows_drawn in (
            ("news", "", 4),
            ("to-hospital", f"-team-{hospital.pk}", 1),
        ):
            layer.frames.clear()
            drawn.clear()
            answer = client.post(
                reverse("exercises:inject_release", args=[running.code, key]),
                HTTP_HX_REQUEST="true",
            ).content.decode()
            assert f"exercise-{running.pk}{players}" in layer.frames
            console = layer.frames[f"exercise-{running.pk}-control"]
            listed = console[console.index('<div id="control-injects" hx-swap-oob="true">') :]
            # The answer is the list the frame drew, swapped out of band as the frame's is.
            assert answer.strip() == listed
            assert drawn.count("exercises/partials/inject_list.html") == 1
            row = listed.split(
                escape(Inject.objects.get(key=key, scenario=running.scenario).title)
            )[1]
            assert '<span class="badge">released</span>' in row.split("</li>")[0]
            # Each row is drawn once: all four by the first frame, then only the one released.
            assert drawn.count("exercises/partials/inject_row.html") == rows_drawn
        engine.exercise_end(exercise=running, actor=alice)
        ended = client.post(
            reverse("exercises:inject_release", args=[running.code, "spare"]),
            HTTP_HX_REQUEST="true",
        ).content.decode()
    finally:
        template_rendered.disconnect(receiver)
    assert 'class="field-error"' in ended
    assert "Release Spare" in answer
    assert "Release Spare" not in ended  # the same rows, but nothing may be released now


class DownLayer(BaseChannelLayer):
    """A channel layer whose Redis is gone."""

    async def group_send(self, group, message):
        raise ConnectionError("Redis is down")


@pytest.mark.django_db(transaction=True)
def test_a_release_answers_with_its_list_when_no_frame_could_be_sent(
    client, running, alice, monkeypatch
):
    """The players' frames fail first, so the console's is never drawn: the answer draws
    the list itself, and the release stands."""
    monkeypatch.setattr(broadcast, "get_channel_layer", DownLayer)
    client.force_login(alice)
    answer = client.post(
        reverse("exercises:inject_release", args=[running.code, "news"]),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert answer.strip().startswith('<div id="control-injects" hx-swap-oob="true">')
    news_row = answer.split("News: outage")[1].split("</li>")[0]
    assert '<span class="badge">released</span>' in news_row
