"""``prev_seq`` in the pushes: exact for every socket of every group it goes to."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exercises import events
from exercises.consumers import ExerciseConsumer, groups_for
from exercises.models import Event
from exercises.visibility import Viewer, can_see_event
from tests import factories

pytestmark = pytest.mark.django_db

TEAMS = (11, 12, 13)
VIEWERS = [Viewer(kind="facilitator"), Viewer(kind="observer")] + [
    Viewer(kind="player", team_id=t) for t in TEAMS
]


def random_timeline(exercise, rng: random.Random, length: int) -> list[Event]:
    timeline = []
    for _ in range(length):
        visibility = rng.choice(["all", "teams", "some", "some", "some", "control"])
        team_ids = rng.sample(TEAMS, rng.randint(1, 2)) if visibility == "some" else []
        timeline.append(
            factories.add_event(exercise, "share.created", visibility=visibility, team_ids=team_ids)
        )
    return timeline


def socket_for(exercise_id: int, viewer: Viewer) -> ExerciseConsumer:
    consumer = ExerciseConsumer()
    consumer.exercise_id, consumer.viewer = exercise_id, viewer
    return consumer


@pytest.mark.parametrize("seed", range(4))
def test_it_names_each_sockets_latest_earlier_visible_event(seed, monkeypatch):
    monkeypatch.setattr(events, "SCAN_BATCH", 3)  # several batches per scan, too
    exercise = factories.make_exercise()
    timeline = random_timeline(exercise, random.Random(seed), 40)
    for event in timeline:
        previous = events.previous_visible(event)
        messages = {
            group: {"type": "event.push", "seq": event.seq, "html": "", **previous[audience]}
            for group, audience in events.routes(event)
        }
        for viewer in VIEWERS:
            expected = max(
                (e.seq for e in timeline if e.seq < event.seq and can_see_event(e, viewer=viewer)),
                default=0,
            )
            for group in groups_for(exercise.pk, viewer):
                if group in messages:
                    socket = socket_for(exercise.pk, viewer)
                    assert socket._previous_visible(messages[group]) == expected, (viewer, group)
            # The socket gets the event exactly when it may see it.
            reached = set(groups_for(exercise.pk, viewer)) & messages.keys()
            assert len(reached) == int(can_see_event(event, viewer=viewer))


def test_it_reads_one_query_for_a_team_event_after_its_previous_one():
    exercise = factories.make_exercise()
    factories.add_event(exercise, "inject.released", visibility="all")
    factories.add_event(exercise, "decision.submitted", visibility="some", team_ids=[11])
    factories.add_event(exercise, "decision.submitted", visibility="some", team_ids=[12])
    last = factories.add_event(exercise, "decision.submitted", visibility="some", team_ids=[11])
    with CaptureQueriesContext(connection) as queries:
        previous = events.previous_visible(last)
    assert previous == {"control": {"prev_seq": last.seq - 1}, "team-11": {"prev_seq": 2}}
    assert len(queries) == 1
