"""The audit log: facilitator and coordinator actions are recorded, readable on the
report page by those who may, and exported with the report."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry
from scoring.access import report_access
from scoring.exports import json as json_export
from scoring.report import build_report
from tests.security.world import World, build_world

EXPECTED_ACTIONS = {
    "inject.release",
    "stage.override",
    "stage.advance",
    "exercise.pause",
    "exercise.resume",
    "prompt.close",
    "report.recomputed",
    "improvement.updated",
}


def client(world: World, persona: str) -> Client:
    c = Client()
    c.force_login(world.users[persona])
    return c


def act_through_the_pages(world: World) -> None:
    code = {"code": world.exercise.code}
    alice, cora = client(world, "facilitator"), client(world, "coordinator")
    spread = world.exercise.scenario.stages.get(key="spread")
    posts = [
        (alice, reverse("exercises:inject_release", kwargs={**code, "inject_key": "news"}), {}),
        (alice, reverse("exercises:pause", kwargs=code), {}),
        (alice, reverse("exercises:resume", kwargs=code), {}),
        (
            alice,
            reverse(
                "exercises:prompt_toggle",
                kwargs={**code, "prompt_key": "first-move", "verb": "close"},
            ),
            {},
        ),
        (alice, reverse("exercises:advance", kwargs=code), {"to_stage": spread.key}),
        (alice, reverse("exercises:advance", kwargs=code), {}),
        (cora, reverse("scoring:recompute", kwargs=code), {}),
    ]
    for c, url, data in posts:
        assert c.post(url, data).status_code in (200, 302), url
    item = world.item
    edit = reverse("scoring:item-edit", kwargs={**code, "item": item.code})
    data = {
        "observation": item.observation,
        "recommendation": "Rehearse warning partners",
        "corrective_action": "Quarterly drill",
        "capability_element": item.capability_element,
        "point_of_contact": "Cora",
        "status": "in_progress",
    }
    assert cora.post(edit, data).status_code == 200


@pytest.mark.django_db
def test_it_records_every_facilitator_and_coordinator_action_with_its_actor():
    world = build_world()
    AuditEntry.objects.filter(exercise_code=world.exercise.code).delete()
    act_through_the_pages(world)
    entries = AuditEntry.objects.filter(exercise_code=world.exercise.code)
    assert {e.action for e in entries} >= EXPECTED_ACTIONS
    by_action = {e.action: e for e in entries}
    assert by_action["improvement.updated"].actor == world.users["coordinator"]
    assert by_action["report.recomputed"].actor == world.users["coordinator"]
    assert by_action["stage.override"].actor == world.users["facilitator"]
    assert by_action["stage.override"].target == "spread"
    assert by_action["inject.release"].target == "news"


@pytest.mark.django_db
def test_it_records_nothing_for_refused_actions():
    world = build_world()
    before = AuditEntry.objects.count()
    code = {"code": world.exercise.code}
    for persona in ("player_a", "evaluator", "observer", "outsider"):
        c = client(world, persona)
        for name in ("exercises:pause", "exercises:advance", "scoring:recompute"):
            assert c.post(reverse(name, kwargs=code)).status_code in (403, 404)
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_it_shows_the_audit_log_on_the_report_to_facilitators_and_coordinators_only():
    world = build_world()
    act_through_the_pages(world)
    url = reverse("scoring:report", kwargs={"code": world.exercise.code})
    for persona, sees in (
        ("facilitator", True),
        ("coordinator", True),
        ("evaluator", False),
        ("player_a", False),
        ("observer", False),
    ):
        html = client(world, persona).get(url).content.decode()
        assert ('id="audit"' in html) is sees, persona
        assert ("stage.override" in html) is sees, persona


@pytest.mark.django_db
def test_it_exports_the_audit_log_in_json_for_those_who_may_read_it():
    world = build_world()
    act_through_the_pages(world)
    for persona, sees in (("facilitator", True), ("coordinator", True), ("evaluator", False)):
        report = build_report(report_access(world.users[persona], world.exercise.code))
        document = json.loads(json_export.render(report))
        actions = {row["action"] for row in document["audit_log"]}
        if sees:
            assert actions >= EXPECTED_ACTIONS, persona
            override = next(r for r in document["audit_log"] if r["action"] == "stage.override")
            assert override["actor"] == str(world.users["facilitator"])
        else:
            assert actions == set(), persona
