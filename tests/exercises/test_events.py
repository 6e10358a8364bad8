"""``prev_seq`` in the pushes: exact for every socket of every group it goes to."""

from __future__ import annotations

import random

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from exercises import broadcast, events, fragments
from exercises.broadcast import groups_for
from exercises.models import Event
from exercises.visibility import Viewer, can_see_event
from tests import factories

TEAMS = (11, 12, 13)
VIEWERS = [Viewer(kind="facilitator"), Viewer(kind="observer")] + [
    Viewer(kind="player", team_id=t) for t in TEAMS
]


def random_timeline(rng: random.Random, length: int) -> list[Event]:
    timeline = []
    for seq in range(1, length + 1):
        visibility = rng.choice(["all", "teams", "some", "some", "some", "control"])
        team_ids = sorted(rng.sample(TEAMS, rng.randint(1, 2))) if visibility == "some" else []
        timeline.append(Event(seq=seq, visibility=visibility, team_ids=team_ids))
    return timeline


def routes(exercise_id: int, event: Event) -> list[tuple[str, str]]:
    event.exercise_id = exercise_id
    return broadcast.routes(event)


@pytest.mark.parametrize("seed", range(6))
def test_it_names_each_sockets_latest_earlier_visible_event(seed):
    exercise_id = 1
    marks: dict = {}
    timeline = random_timeline(random.Random(seed), 60)
    for event in timeline:
        previous = broadcast.previous_visible(marks, event.seq, event.visibility, event.team_ids)
        marks = events.advance_marks(marks, event.seq, event.visibility, event.team_ids)
        messages = {
            group: {"type": "event.push", "seq": event.seq, "html": "", **previous[perspective]}
            for group, perspective in routes(exercise_id, event)
        }
        for viewer in VIEWERS:
            expected = max(
                (e.seq for e in timeline if e.seq < event.seq and can_see_event(e, viewer=viewer)),
                default=0,
            )
            for group in groups_for(exercise_id, viewer):
                if group in messages:
                    previous_seq = broadcast.previous_seq(messages[group], viewer)
                    assert previous_seq == expected, (viewer, group)
            # The socket gets the event exactly when it may see it.
            reached = set(groups_for(exercise_id, viewer)) & messages.keys()
            assert len(reached) == int(can_see_event(event, viewer=viewer))


@pytest.mark.django_db
def test_appending_keeps_the_marks_and_publishing_reads_nothing(
    django_capture_on_commit_callbacks, monkeypatch
):
    exercise = factories.make_exercise()
    sent = []
    monkeypatch.setattr(broadcast, "_deliver", sent.extend)
    monkeypatch.setattr(fragments, "iter_frames", lambda event, views: iter([""] * len(views)))
    timeline = [("all", []), ("some", [11]), ("some", [12]), ("some", [11])]
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for visibility, team_ids in timeline:
            event, marks_before = events.write_event(
                exercise=exercise,
                kind="share.created",
                payload={},
                visibility=visibility,
                team_ids=team_ids,
                clock_seconds=0,
            )
            broadcast.publish(event, marks_before)
    exercise.refresh_from_db()
    marks = {"teams": 1, "all": 1, "team": {"11": 4, "12": 3}, "closed": 0}
    assert exercise.visibility_marks == marks
    with CaptureQueriesContext(connection) as queries:
        callbacks[-1]()
    assert len(queries) == 0
    assert [(group.rsplit("-", 2)[-2:], message["prev_seq"]) for group, message in sent] == [
        (["team", str(11)], 2),
        ([str(exercise.pk), "evaluators"], 3),
        ([str(exercise.pk), "control"], 3),
    ]
