"""The scoring admin pages load for staff and stay closed to others."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.services import report_compute
from tests import factories

PAGES = [
    "scenarios_rubric",
    "scoring_improvementitem",
    "scoring_score",
    "scoring_gap",
    "scoring_reportexport",
]


@pytest.fixture
def admin_user(db):
    return factories.make_user("root", is_staff=True, is_superuser=True)


@pytest.mark.parametrize("model", PAGES)
def test_it_lists_scoring_rows_for_staff(client, admin_user, alice, model):
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    report_compute(exercise=exercise)
    client.force_login(admin_user)
    response = client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


def test_it_keeps_computed_scores_read_only(client, admin_user, alice):
    client.force_login(admin_user)
    assert client.get(reverse("admin:scoring_score_add")).status_code == 403


def test_it_keeps_the_admin_from_outsiders(client, mallory):
    client.force_login(mallory)
    response = client.get(reverse("admin:scoring_improvementitem_changelist"))
    assert response.status_code == 302
