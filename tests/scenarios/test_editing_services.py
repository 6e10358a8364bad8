"""Editing services added for planners: a prompt with its options in one call, reordering
by a dropped key list, and undo of the last change (bounded history)."""

from __future__ import annotations

import pytest

from scenarios import services as svc
from scenarios.formats import export_document
from scenarios.models import Consequence, DraftSnapshot, Inject
from tests import factories


@pytest.fixture
def draft(db):
    return factories.make_scenario(published=False)


def _start(scenario):
    return scenario.stages.get(key="start")


def test_it_creates_a_prompt_with_options_effects_and_consequences(draft):
    prompt = svc.prompt_create(
        stage=_start(draft),
        fields={"key": "tell", "question": "Tell the regulator?", "criteria": ["respond"]},
        options=[
            svc.OptionDraft(key="now", label="Now", effects={"info-sharing": 15}),
            svc.OptionDraft(
                key="later",
                label="Later",
                effects={"info-sharing": -10},
                consequence_title="Regulator calls, angry",
                consequence_target=Consequence.Target.CHOOSER,
            ),
        ],
    )
    assert [(o.key, o.label, o.effects) for o in prompt.options.all()] == [
        ("now", "Now", {"info-sharing": 15}),
        ("later", "Later", {"info-sharing": -10}),
    ]
    consequence = Consequence.objects.get(option__prompt=prompt)
    assert consequence.option.key == "later"
    assert consequence.target == Consequence.Target.CHOOSER
    inject = consequence.inject
    assert (inject.key, inject.title, inject.release) == (
        "tell-later",
        "Regulator calls, angry",
        Inject.Release.CONSEQUENCE,
    )
    assert inject.stage == _start(draft)
    assert svc.scenario_problems(draft) == []


def test_it_keeps_consequence_inject_keys_unique(draft):
    _start(draft).injects.create(scenario=draft, key="tell-later", title="Taken", order=9)
    option = svc.OptionDraft(key="later", label="Later", consequence_title="Call")
    prompt = svc.prompt_create(
        stage=_start(draft), fields={"key": "tell", "question": "?"}, options=[option]
    )
    assert Consequence.objects.get(option__prompt=prompt).inject.key == "tell-later-2"


def test_it_reorders_siblings_by_the_dropped_key_list(draft):
    news = draft.injects.get(key="news")
    svc.part_reorder(item=news, keys=["leak", "news", "siem-alert"])
    assert list(_start(draft).injects.values_list("key", flat=True)) == [
        "leak",
        "news",
        "siem-alert",
    ]
    svc.part_reorder(item=_start(draft), keys=["end", "start", "spread", "contained"])
    assert list(draft.stages.values_list("key", flat=True)) == [
        "end",
        "start",
        "spread",
        "contained",
    ]


@pytest.mark.parametrize("keys", [["news", "leak"], ["news", "leak", "siem-alert", "x"], []])
def test_it_refuses_an_order_that_is_not_exactly_the_siblings(draft, keys):
    with pytest.raises(svc.AuthoringError, match="changed meanwhile"):
        svc.part_reorder(item=draft.injects.get(key="news"), keys=keys)
    assert list(_start(draft).injects.values_list("key", flat=True)) == [
        "siem-alert",
        "news",
        "leak",
    ]
    assert svc.last_change(draft) is None  # a refused change leaves nothing to undo


def test_it_undoes_the_last_change_and_then_the_one_before(draft):
    before = export_document(draft)
    svc.stage_update(stage=_start(draft), fields={"title": "Renamed"})
    after_rename = export_document(draft)
    svc.stage_delete(stage=draft.stages.get(key="spread"))
    assert svc.last_change(draft) == "delete stage"

    assert svc.scenario_undo(scenario=draft) == "delete stage"
    draft.refresh_from_db()
    assert export_document(draft) == after_rename
    assert svc.scenario_undo(scenario=draft) == "edit stage"
    draft.refresh_from_db()
    assert export_document(draft) == before
    with pytest.raises(svc.AuthoringError, match="Nothing to undo"):
        svc.scenario_undo(scenario=draft)


def test_undo_restores_many_to_many_links_details_and_the_start_stage(draft):
    before = export_document(draft)
    svc.role_delete(role=draft.roles.get(key="cloud"))
    svc.scenario_update(scenario=draft, fields={"title": "Other", "start_stage": None})
    svc.stage_duplicate(stage=_start(draft))
    for _ in range(3):
        svc.scenario_undo(scenario=draft)
    draft.refresh_from_db()
    assert export_document(draft) == before
    assert draft.sectors == ["cloud_it", "healthcare", "finance"]
    assert list(draft.injects.get(key="siem-alert").audience_roles.values_list("key", flat=True))
    assert draft.roles.get(key="hospital").depends_on.get().key == "cloud"


def test_undo_takes_back_a_prompt_made_in_one_form(draft):
    before = export_document(draft)
    option = svc.OptionDraft(key="a", label="A", consequence_title="Boom")
    svc.prompt_create(stage=_start(draft), fields={"key": "p", "question": "?"}, options=[option])
    assert svc.last_change(draft) == "add prompt"
    svc.scenario_undo(scenario=draft)
    draft.refresh_from_db()
    assert export_document(draft) == before
    assert not draft.injects.filter(release=Inject.Release.CONSEQUENCE, title="Boom").exists()


def test_undo_history_is_bounded(draft):
    for number in range(svc.UNDO_DEPTH + 5):
        svc.stage_update(stage=_start(draft), fields={"title": f"T{number}"})
    assert draft.snapshots.count() == svc.UNDO_DEPTH
    assert draft.snapshots.first().label == "edit stage"


def test_undo_is_refused_for_a_draft_exercises_use_and_publishing_clears_it(draft):
    svc.stage_update(stage=_start(draft), fields={"title": "Renamed"})
    factories.make_exercise(draft)
    with pytest.raises(svc.AuthoringError, match="Exercises use"):
        svc.scenario_undo(scenario=draft)
    assert _start(draft).title == "Renamed"
    svc.scenario_publish(scenario=draft)
    assert not DraftSnapshot.objects.filter(scenario=draft).exists()


def test_prompt_update_refuses_option_rows_it_cannot_apply_and_changes_nothing(draft):
    prompt = draft.prompts.get(key="first-move")
    isolate, pay = prompt.options.get(key="isolate"), prompt.options.get(key="pay")
    before = export_document(draft)
    swap = [
        svc.OptionDraft(key="pay", label=isolate.label, option_id=isolate.pk),
        svc.OptionDraft(key="isolate", label=pay.label, option_id=pay.pk),
    ]
    with pytest.raises(svc.AuthoringError, match="another option's key"):
        svc.prompt_update(prompt=prompt, fields={}, options=swap)
    other = factories.make_scenario(published=False, key="other").prompts.get().options.first()
    foreign = [svc.OptionDraft(key="x", label="X", option_id=other.pk)]
    with pytest.raises(svc.AuthoringError, match="another prompt"):
        svc.prompt_update(prompt=prompt, fields={}, options=foreign)
    assert export_document(draft) == before
    assert not draft.snapshots.exists()  # a refused change leaves no undo step
