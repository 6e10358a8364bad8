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


@pytest.fixture
def demo_report(settings):
    """The demo's played exercise, its report computed."""
    settings.CASCADE_INPROCESS_SCHEDULER = True
    list(load_fixtures())
    with mock.patch("exercises.scheduler._scheduler.call_later"):
        return seed_demo_played_exercise(seed_demo_people())


def _open(context, exercise):
    page = login(context, "coordinator", DEMO_PASSWORD)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reverse("scoring:report", args=[exercise.code]))
    return page, errors


@pytest.mark.django_db(transaction=True)
def test_it_fits_the_demo_report_on_a_phone_without_horizontal_overflow(new_context, demo_report):
    page, errors = _open(new_context(width=PHONE_WIDTH, height=844), demo_report)
    assert page.get_by_role("heading", name="Executive summary").is_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH
    for summary in page.locator("details.report-section > summary").all():
        summary.click()  # every section unfolded: still no overflow
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_its_sections_fold_open_from_the_keyboard_and_the_contents_and_all_print(
    new_context, demo_report
):
    page, errors = _open(new_context(), demo_report)
    summary = page.locator("#summary details")
    assert summary.get_attribute("open") is not None  # the executive summary reads first
    gaps = page.locator("#gaps table")
    assert not gaps.is_visible()
    page.locator("#gaps summary").focus()
    page.keyboard.press("Enter")
    assert gaps.is_visible()
    page.keyboard.press("Enter")
    assert not gaps.is_visible()
    timeline = page.locator("#timeline ol.timeline")
    assert not timeline.is_visible()
    page.get_by_role("navigation", name="Report sections").get_by_role(
        "link", name="Timeline"
    ).click()
    assert timeline.is_visible()
    plan = page.locator("#plan table").first
    assert not plan.is_visible()
    page.emulate_media(media="print")
    assert plan.is_visible()
    assert gaps.is_visible()
    page.emulate_media(media="screen")
    assert not plan.is_visible()
    assert errors == []
