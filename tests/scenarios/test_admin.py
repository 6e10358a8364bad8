"""The admin shows scenarios and runs to staff, read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories


@pytest.fixture
def staff(client, db):
    user = factories.make_user("root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_it_lists_scenarios_and_exercises_read_only(client, staff):
    exercise, _ = factories.make_played_exercise()  # decisions, observations, shares
    scenario = exercise.scenario
    assert (
        scenario.title
        in client.get(reverse("admin:scenarios_scenario_changelist")).content.decode()
    )
    page = client.get(
        reverse("admin:scenarios_scenario_change", args=[scenario.pk])
    ).content.decode()
    assert "Cloud provider" in page  # the roles inline
    assert 'name="_save"' not in page
    assert client.get(reverse("admin:scenarios_scenario_add")).status_code == 403
    assert (
        client.get(reverse("admin:exercises_exercise_change", args=[exercise.pk])).status_code
        == 200
    )
    for model in [
        "exercises_event",
        "scenarios_role",
        "scenarios_option",
        "exercises_injectrelease",
        "exercises_promptwindow",
        "exercises_decision",
        "exercises_share",
        "exercises_observation",
    ]:
        assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_it_lets_staff_delete_drafts_only(client, staff):
    draft = factories.make_scenario(published=False)
    published = factories.make_scenario(published=True)
    delete = "admin:scenarios_scenario_delete"
    assert client.get(reverse(delete, args=[published.pk])).status_code == 403
    assert client.get(reverse(delete, args=[draft.pk])).status_code == 200


def test_it_keeps_non_staff_out_of_the_admin(client, alice):
    client.force_login(factories.grant_authoring(alice))
    response = client.get(reverse("admin:scenarios_scenario_changelist"))
    assert response.status_code == 302
