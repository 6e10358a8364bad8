"""The trends page in a desktop and a phone-width browser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tests.e2e.conftest import login
from tests.e2e.test_accessibility import violations


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1366, 390])
def test_it_shows_trends_without_horizontal_overflow_or_console_errors(new_context, alice, width):
    factories.make_trend_runs(facilitator=alice)
    page = login(new_context(width=width, height=900), "alice", factories.PASSWORD)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reverse("scoring:trends"))
    assert page.get_by_role("heading", name="Trends across exercises").is_visible()
    assert page.get_by_text("Score rose 22 points after").first.is_visible()
    assert page.locator("section.trend-card svg").count() >= 2
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert violations(page) == []  # axe-core: no serious or critical WCAG violation
    page.locator("#id_by").select_option("sector")
    page.locator("#id_group").select_option("RS")
    page.get_by_role("button", name="Show trends").click()
    page.wait_for_url("**by=sector**")
    assert page.get_by_role("heading", name="Healthcare – Respond").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert errors == []
