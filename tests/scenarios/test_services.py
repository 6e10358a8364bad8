"""Authoring services: versioning, immutability, defaults, and the role preview."""

from __future__ import annotations

import pytest

from scenarios import services as svc
from scenarios.models import Consequence, Inject, Scenario, Transition
from tests import factories


@pytest.fixture
def draft(db):
    return factories.make_scenario(published=False)


def test_it_refuses_every_change_to_a_published_scenario(db):
    scenario = factories.make_scenario(published=True)
    stage = scenario.stages.get(key="start")
    attempts = [
        lambda: svc.scenario_update(scenario=scenario, fields={"title": "X"}),
        lambda: svc.role_create(
            scenario=scenario, fields={"key": "r", "label": "R", "sector": "water"}
        ),
        lambda: svc.stage_update(stage=stage, fields={"title": "X"}),
        lambda: svc.inject_delete(inject=scenario.injects.first()),
        lambda: svc.transition_create(stage=stage, fields={"to_stage": stage, "is_default": False}),
        lambda: svc.option_update(option=scenario.prompts.first().options.first(), fields={}),
        lambda: svc.scenario_delete(scenario=scenario),
    ]
    for attempt in attempts:
        with pytest.raises(svc.AuthoringError, match="published"):
            attempt()
    scenario.refresh_from_db()
    assert scenario.title == "Tiny cascade"
    assert scenario.roles.count() == 3


def test_it_copies_a_published_scenario_into_a_new_draft_version(db, alice):
    source = factories.make_scenario(published=True, key="tiny")
    draft = svc.scenario_new_draft(scenario=source, created_by=alice)
    assert (draft.key, draft.version, draft.status) == ("tiny", 2, Scenario.Status.DRAFT)
    assert draft.previous_version == source
    assert draft.start_stage.key == "start"
    assert draft.start_stage.scenario == draft
    assert set(draft.roles.get(key="hospital").depends_on.values_list("key", flat=True)) == {
        "cloud"
    }
    assert list(
        draft.injects.get(key="siem-alert").audience_roles.values_list("key", flat=True)
    ) == ["cloud"]
    consequence = Consequence.objects.get(option__prompt__scenario=draft)
    assert consequence.inject.scenario == draft
    assert consequence.option.key == "pay"
    assert draft.transitions.count() == 4
    assert all(t.from_stage.scenario == draft for t in draft.transitions.all())
    # The copy is exported exactly like its source apart from the version.
    assert svc.export_document(draft) == svc.export_document(source)
    assert source.roles.count() == 3  # untouched


def test_it_numbers_new_drafts_after_the_latest_version(db, alice):
    source = factories.make_scenario(published=True, key="tiny")
    second = svc.scenario_new_draft(scenario=source, created_by=alice)
    svc.scenario_publish(scenario=second)
    third = svc.scenario_new_draft(scenario=source, created_by=alice)
    assert third.version == 3


def test_it_only_copies_published_scenarios(draft, alice):
    with pytest.raises(svc.AuthoringError):
        svc.scenario_new_draft(scenario=draft, created_by=alice)


def test_it_publishes_a_valid_draft(draft):
    svc.scenario_publish(scenario=draft)
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.published_at is not None


def test_it_refuses_to_publish_a_draft_with_problems(draft):
    unreachable = svc.stage_create(scenario=draft, fields={"key": "island", "title": "Island"})
    with pytest.raises(svc.PublishError) as caught:
        svc.scenario_publish(scenario=draft)
    assert any("island" in f"{e.path} {e.message}" for e in caught.value.errors)
    draft.refresh_from_db()
    assert not draft.is_published
    svc.stage_delete(stage=unreachable)
    assert svc.scenario_problems(draft) == []


def test_it_makes_the_first_stage_the_start(db, alice):
    scenario = svc.scenario_create(created_by=alice, fields={"title": "New", "key": "new"})
    first = svc.stage_create(scenario=scenario, fields={"key": "one", "title": "One"})
    svc.stage_create(scenario=scenario, fields={"key": "two", "title": "Two"})
    scenario.refresh_from_db()
    assert scenario.start_stage == first


def test_it_keeps_one_default_transition_per_stage(draft):
    start = draft.stages.get(key="start")
    end = draft.stages.get(key="end")
    with pytest.raises(svc.AuthoringError, match="already has a default"):
        svc.transition_create(stage=start, fields={"to_stage": end, "is_default": True})
    assert start.transitions.filter(is_default=True).count() == 1


def test_it_drops_the_condition_of_a_default_transition(draft):
    default = Transition.objects.get(from_stage__key="start", is_default=True)
    svc.transition_update(
        transition=default, fields={"is_default": True, "condition": {"mode": "any"}}
    )
    default.refresh_from_db()
    assert default.condition == {}


def test_it_keeps_scenario_sectors_in_step_with_roles(draft):
    svc.role_create(scenario=draft, fields={"key": "water", "label": "Water", "sector": "water"})
    assert draft.sectors == ["cloud_it", "healthcare", "finance", "water"]
    svc.role_delete(role=draft.roles.get(key="bank"))
    draft.refresh_from_db()
    assert draft.sectors == ["cloud_it", "healthcare", "water"]


def test_it_sets_many_to_many_fields_through_services(draft):
    start = draft.stages.get(key="start")
    hospital = draft.roles.get(key="hospital")
    inject = svc.inject_create(
        stage=start,
        fields={
            "key": "ehr",
            "title": "EHR down",
            "audience": "roles",
            "audience_roles": [hospital],
        },
    )
    assert list(inject.audience_roles.all()) == [hospital]
    assert inject.order == 3


def test_it_shows_a_role_what_is_addressed_to_it(draft):
    start = draft.stages.get(key="start")
    cloud, hospital = draft.roles.get(key="cloud"), draft.roles.get(key="hospital")
    Inject.objects.create(
        scenario=draft, stage=start, key="ctrl", title="Controller note", audience="control"
    )
    Inject.objects.create(
        scenario=draft,
        stage=start,
        key="health",
        title="Health sector alert",
        audience="sectors",
        audience_sectors=["healthcare"],
        order=5,
    )
    as_cloud = svc.role_view(role=cloud, stage=start)
    as_hospital = svc.role_view(role=hospital, stage=start)
    assert [i.key for i in as_cloud.injects] == ["siem-alert", "news"]
    assert [i.key for i in as_hospital.injects] == ["news", "health"]
    assert [p.key for p in as_hospital.prompts] == ["first-move"]
    # The hospital depends on the cloud, so the cloud paying cascades the leak to it.
    assert [c.inject.key for c in as_hospital.possible_consequences] == ["leak"]
    assert as_cloud.possible_consequences == []
    assert [(label, s.key) for label, s in as_cloud.next_stages] == [
        ("any of teams chose isolate on first-move", "contained"),
        ("otherwise", "spread"),
    ]


def test_it_shows_nothing_next_in_a_final_stage(draft):
    view = svc.role_view(role=draft.roles.get(key="bank"), stage=draft.stages.get(key="end"))
    assert view.next_stages == []
    assert view.prompts == []


def test_it_renders_markdown_without_scripts():
    html = svc.render_markdown("**Hosts** down <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<strong>Hosts</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html


def test_it_keeps_conditions_in_step_when_keys_are_renamed(draft):
    conditional = Transition.objects.get(from_stage__key="start", is_default=False)
    conditional.condition["roles"] = ["cloud"]
    conditional.save()
    prompt = draft.prompts.get(key="first-move")
    svc.prompt_update(prompt=prompt, fields={"key": "opening-move"})
    svc.option_update(option=prompt.options.get(key="isolate"), fields={"key": "cut-off"})
    svc.role_update(role=draft.roles.get(key="cloud"), fields={"key": "provider"})
    conditional.refresh_from_db()
    assert conditional.condition == {
        "mode": "any",
        "prompt": "opening-move",
        "options": ["cut-off"],
        "roles": ["provider"],
    }
    assert svc.scenario_problems(draft) == []


def test_it_refuses_to_delete_a_draft_that_exercises_use(draft):
    factories.make_exercise(draft)
    with pytest.raises(svc.AuthoringError, match="Exercises use this draft"):
        svc.scenario_delete(scenario=draft)
    assert Scenario.objects.filter(pk=draft.pk).exists()
