"""What the real-server tests share: a running exercise with injects to release, the
environment that points server processes at the test database, and session cookies."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection
from django.test import Client

from exercises import engine
from exercises.models import Exercise
from scenarios.models import Inject
from tests import factories

SEQ = re.compile(r"^<!--seq:(\d+)-->")


def server_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server process of this test run, on the test database."""
    url = urlsplit(os.environ["DATABASE_URL"])
    test_db = settings.DATABASES["default"]["NAME"]
    return {
        "DATABASE_URL": urlunsplit(url._replace(path=f"/{test_db}")),
        "REDIS_URL": redis_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        **extra,
    }


def build_world(injects: int):
    """A running exercise with two players (cloud, hospital) and ``injects`` manual
    injects ``all-<n>`` to every team; returns (exercise, facilitator, players)."""
    alice = factories.make_user("alice")
    bob, erin = factories.make_user("bob"), factories.make_user("erin")
    exercise = factories.make_exercise(facilitator=alice)
    factories.add_player(exercise, factories.make_team(exercise, "cloud"), bob)
    factories.add_player(exercise, factories.make_team(exercise, "hospital"), erin)
    for n in range(injects):
        Inject.objects.create(
            scenario=exercise.scenario,
            stage=exercise.scenario.start_stage,
            key=f"all-{n}",
            title=f"To everyone #{n}",
            audience="all",
            tlp="GREEN",
            order=10 + n,
        )
    engine.exercise_start(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    return exercise, alice, [bob, erin]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def release(exercise: Exercise, alice, numbers) -> None:
    """Release injects ``all-<n>`` from a worker thread; closes that thread's connection
    so the test database can be dropped afterwards."""
    try:
        for n in numbers:
            inject = Inject.objects.get(scenario=exercise.scenario, key=f"all-{n}")
            engine.inject_release(exercise=exercise, inject=inject, actor=alice)
    finally:
        connection.close()
