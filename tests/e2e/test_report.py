"""The after-action report in a phone-width browser."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from demo.exercises import seed_demo_played_exercise
from demo.people import DEMO_PASSWORD, seed_demo_people
from scenarios.formats.fixtures import load_fixtures
from tests.e2e.conftest import login

PHONE_WIDTH = 390


@pytest.mark.django_db(transaction=True)
def test_it_fits_the_demo_report_on_a_phone_without_horizontal_overflow(new_context, settings):
    settings.CASCADE_INPROCESS_SCHEDULER = True
    list(load_fixtures())
    with mock.patch("exercises.scheduler._scheduler.call_later"):
        exercise = seed_demo_played_exercise(seed_demo_people())
    context = new_context(width=PHONE_WIDTH, height=844)
    page = login(context, "coordinator", DEMO_PASSWORD)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reverse("scoring:report", args=[exercise.code]))
    assert page.get_by_role("heading", name="Executive summary").is_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH
    assert errors == []
