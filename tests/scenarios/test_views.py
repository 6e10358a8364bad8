"""The scenario editor's pages and htmx section forms."""

from __future__ import annotations

import csv
import io
import re

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scenarios import services as svc
from scenarios.formats import export_document
from scenarios.forms import ClockDurationField, PromptWithOptionsForm
from scenarios.models import Inject, Scenario, Transition
from tests import factories
from tests.scenarios.test_msel import as_csv

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def author(client, alice):
    user = factories.grant_authoring(alice)
    client.force_login(user)
    return user


@pytest.fixture
def draft(db):
    return factories.make_scenario(published=False, key="tiny")


def url(name, *args):
    return reverse(f"scenarios:{name}", args=args)


def test_it_lists_versions_grouped_by_key(client, author, alice):
    published = factories.make_scenario(published=True, key="tiny")
    client.post(url("scenario_new_draft", published.code))
    html = client.get(url("scenario_list")).content.decode()
    assert html.count('<th scope="row">') == 1
    assert "v1" in html
    assert "v2" in html
    assert "Draft" in html


def test_it_shows_an_empty_state_without_scenarios(client, author):
    assert "No scenarios yet" in client.get(url("scenario_list")).content.decode()


def test_it_creates_a_draft_and_opens_the_editor(client, author):
    rubric = factories.make_rubric()
    data = {"title": "Flood", "key": "flood", "summary": "Water.", "rubric": rubric.pk}
    response = client.post(url("scenario_create"), data)
    scenario = Scenario.objects.get(key="flood")
    assert response.status_code == 302
    assert response["Location"] == url("scenario_detail", scenario.code)
    assert scenario.status == Scenario.Status.DRAFT
    assert scenario.created_by == author
    html = client.get(response["Location"]).content.decode()
    assert "No stages yet" in html
    assert "No roles yet" in html


def test_it_refuses_a_duplicate_or_malformed_key(client, author, draft):
    response = client.post(url("scenario_create"), {"title": "Again", "key": "tiny"})
    assert "A scenario with this key exists" in response.content.decode()
    response = client.post(url("scenario_create"), {"title": "Bad", "key": "Bad_Key"})
    assert "lowercase letters" in response.content.decode()
    assert Scenario.objects.count() == 1


def test_it_adds_a_role_with_htmx_and_refreshes_the_panels(client, author, draft):
    cloud = draft.roles.get(key="cloud")
    data = {"role-key": "water", "role-label": "Water utility", "role-sector": "water"}
    data["role-depends_on"] = [cloud.pk]
    response = client.post(url("role_create", draft.code), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="section-roles"')
    assert "Water utility" in html
    assert 'id="validation-panel" class="validation-panel"' in html
    assert 'hx-swap-oob="true"' in html
    assert list(draft.roles.get(key="water").depends_on.all()) == [cloud]


def test_it_adds_a_coordinating_body(client, author, draft):
    data = {"role-key": "isac", "role-label": "Sector ISAC", "role-sector": "finance"}
    flagged = data | {"role-coordinating": "on"}
    response = client.post(url("role_create", draft.code), flagged, **HTMX)
    assert "coordinating body" in response.content.decode()
    assert draft.roles.get(key="isac").coordinating
    data["role-key"], data["role-label"] = "bank2", "Other bank"
    client.post(url("role_create", draft.code), data, **HTMX)
    assert not draft.roles.get(key="bank2").coordinating


def test_it_adds_a_stage_inject_and_transition(client, author, draft):
    response = client.post(
        url("stage_create", draft.code),
        {"stage-key": "aftermath", "stage-title": "Aftermath", "stage-briefing": "**Calm**"},
        **HTMX,
    )
    assert "<strong>Calm</strong>" in response.content.decode()
    hospital = draft.roles.get(key="hospital")
    response = client.post(
        url("stage_part_create", draft.code, "aftermath", "inject"),
        {
            "inject-aftermath-key": "press",
            "inject-aftermath-title": "Press asks questions",
            "inject-aftermath-channel": "news",
            "inject-aftermath-severity": "low",
            "inject-aftermath-tlp": "CLEAR",
            "inject-aftermath-audience": "roles",
            "inject-aftermath-audience_roles": [hospital.pk],
            "inject-aftermath-release": "timed",
            "inject-aftermath-offset_seconds": "120",
        },
        **HTMX,
    )
    assert "Press asks questions" in response.content.decode()
    inject = Inject.objects.get(key="press")
    assert (inject.stage.key, inject.offset_seconds) == ("aftermath", 120)
    assert list(inject.audience_roles.all()) == [hospital]
    response = client.post(
        url("stage_part_create", draft.code, "end", "transition"),
        {
            "transition-end-to_stage": draft.stages.get(key="aftermath").pk,
            "transition-end-is_default": "on",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert Transition.objects.filter(from_stage__key="end", is_default=True).exists()
    assert "Ready to publish." in response.content.decode()


def test_it_builds_a_transition_condition(client, author, draft):
    response = client.post(
        url("stage_part_create", draft.code, "start", "transition"),
        {
            "transition-start-to_stage": draft.stages.get(key="end").pk,
            "transition-start-label": "Everyone paid",
            "transition-start-mode": "at_least",
            "transition-start-prompt": "first-move",
            "transition-start-options": ["pay"],
            "transition-start-roles": ["hospital", "bank"],
            "transition-start-count": "2",
        },
        **HTMX,
    )
    assert "Everyone paid" in response.content.decode()
    transition = Transition.objects.get(label="Everyone paid")
    assert transition.condition == {
        "mode": "at_least",
        "prompt": "first-move",
        "options": ["pay"],
        "roles": ["hospital", "bank"],
        "count": 2,
    }


def test_it_shows_inline_errors_and_saves_nothing(client, author, draft):
    response = client.post(
        url("stage_part_create", draft.code, "start", "inject"),
        {
            "inject-start-key": "siem-alert",
            "inject-start-title": "Late",
            "inject-start-channel": "email",
            "inject-start-severity": "low",
            "inject-start-tlp": "GREEN",
            "inject-start-audience": "roles",
            "inject-start-release": "timed",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "“siem-alert” is already used here" in html
    assert "A timed inject needs its offset" in html
    assert "Pick at least one role" in html
    assert '<details class="add-form" open>' in html
    # Keyboard users land on the first field in error.
    assert html.count("autofocus") == 1
    assert re.search(r'name="inject-start-key"[^>]*autofocus', html)
    assert draft.injects.count() == 3


def test_it_shows_the_second_default_transition_as_an_error(client, author, draft):
    response = client.post(
        url("stage_part_create", draft.code, "start", "transition"),
        {
            "transition-start-to_stage": draft.stages.get(key="end").pk,
            "transition-start-is_default": "on",
        },
        **HTMX,
    )
    assert "already has a default transition" in response.content.decode()
    assert draft.transitions.filter(from_stage__key="start").count() == 2


def test_it_refuses_a_condition_without_its_prompt_or_options(client, author, draft):
    add = url("stage_part_create", draft.code, "start", "transition")
    end = draft.stages.get(key="end").pk
    no_prompt = {"transition-start-to_stage": end, "transition-start-roles": ["bank"]}
    response = client.post(add, no_prompt, **HTMX)
    assert "needs the prompt it reads" in response.content.decode()
    no_option = {"transition-start-to_stage": end, "transition-start-prompt": "first-move"}
    response = client.post(add, no_option, **HTMX)
    assert "Pick the option(s) that trigger this transition" in response.content.decode()
    assert draft.transitions.filter(from_stage__key="start").count() == 2


def test_an_empty_condition_makes_the_default_transition(client, author, draft):
    """No condition at all is the "otherwise" way out; a second one is still refused."""
    add = url("stage_part_create", draft.code, "end", "transition")
    unconditional = {
        "transition-end-to_stage": draft.stages.get(key="start").pk,
        "transition-end-mode": "any",  # the form's preselected mode is not a condition
    }
    client.post(add, unconditional, **HTMX)
    transition = draft.transitions.get(from_stage__key="end")
    assert (transition.is_default, transition.condition) == (True, {})
    response = client.post(add, unconditional, **HTMX)
    assert "already has a default transition" in response.content.decode()
    assert draft.transitions.filter(from_stage__key="end").count() == 1


def test_it_adds_options_with_effects_and_consequences(client, author, draft):
    response = client.post(
        url("prompt_part_create", draft.code, "first-move", "option"),
        {
            "option-first-move-key": "call-cert",
            "option-first-move-label": "Call the national CERT",
            "option-first-move-effect_info-sharing": "30",
            "option-first-move-effect_detect": "",
        },
        **HTMX,
    )
    assert "Call the national CERT" in response.content.decode()
    option = draft.prompts.get(key="first-move").options.get(key="call-cert")
    assert option.effects == {"info-sharing": 30}
    client.post(
        url("prompt_part_create", draft.code, "first-move", "consequence"),
        {
            "consequence-first-move-option": option.pk,
            "consequence-first-move-inject": draft.injects.get(key="leak").pk,
            "consequence-first-move-target": "all",
            "consequence-first-move-delay_seconds": "60",
        },
        **HTMX,
    )
    assert option.consequences.get().delay_seconds == 60


def test_it_lists_validation_problems_and_refuses_to_publish(client, author, draft):
    client.post(url("stage_create", draft.code), {"stage-key": "island", "stage-title": "Island"})
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert "to fix before publishing" in html
    assert '<a href="#stage-island"><code>stages[4]</code></a>' in html
    assert 'class="stage stage-unreachable' in html
    response = client.post(url("scenario_publish", draft.code), {"confirm": "yes"}, follow=True)
    assert "must be fixed before publishing" in response.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published


def test_it_publishes_only_once_confirmed(client, author, draft):
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert 'name="confirm" value="yes" required' in html
    response = client.post(url("scenario_publish", draft.code), follow=True)
    assert "Tick the confirmation: publishing cannot be undone." in response.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published


def test_the_panel_lists_warnings_before_publishing(client, author, draft):
    draft.injects.update(tlp="RED", audience="all")
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert "TLP:RED but its audience is every team" in html
    assert "I have read the" in html


def test_it_publishes_and_then_edits_as_a_new_draft(client, author, draft):
    client.post(url("scenario_publish", draft.code), {"confirm": "yes"})
    draft.refresh_from_db()
    assert draft.is_published
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert "Edit (new draft version)" in html
    assert "Add a stage" not in html
    response = client.post(url("role_create", draft.code), {"role-key": "x"}, **HTMX)
    assert response.status_code == 403
    response = client.post(url("scenario_new_draft", draft.code))
    new = Scenario.objects.get(key="tiny", version=2)
    assert response["Location"] == url("scenario_detail", new.code)
    assert new.previous_version == draft
    assert new.stages.count() == 4


def test_it_edits_a_part_on_its_own_page(client, author, draft):
    edit = url("part_edit", draft.code, "stage", "spread")
    assert "Edit stage" in client.get(edit).content.decode()
    response = client.post(edit, {"key": "spread", "title": "It spreads"})
    assert response.status_code == 302
    assert draft.stages.get(key="spread").title == "It spreads"
    option_edit = url("part_edit", draft.code, "option", "first-move.wait")
    client.post(option_edit, {"key": "wait", "label": "Wait", "effect_respond": "-10"})
    assert draft.prompts.get().options.get(key="wait").effects == {"respond": -10}


def test_it_deletes_a_part_with_htmx(client, author, draft):
    response = client.post(url("part_delete", draft.code, "inject", "news"), **HTMX)
    assert response.status_code == 200
    assert "News: outage" not in response.content.decode()
    assert not draft.injects.filter(key="news").exists()


def test_it_deletes_a_draft_but_not_a_published_scenario(client, author, draft):
    published = factories.make_scenario(published=True)
    assert client.post(url("scenario_delete", published.code)).status_code == 403
    response = client.post(url("scenario_delete", draft.code))
    assert response["Location"] == url("scenario_list")
    assert not Scenario.objects.filter(pk=draft.pk).exists()


def test_it_exports_yaml_and_json(client, author, draft):
    response = client.get(url("scenario_export", draft.code, "yaml"))
    assert response["Content-Disposition"] == 'attachment; filename="tiny-v1.yaml"'
    doc = yaml.safe_load(response.content)
    assert doc["key"] == "tiny"
    assert [s["key"] for s in doc["stages"]] == ["start", "contained", "spread", "end"]
    response = client.get(url("scenario_export", draft.code, "json"))
    assert response.json()["start"] == "start"


def preview_and_confirm(client, data: dict):
    """Upload (the preview: nothing written), then confirm with the preview's token."""
    response = client.post(url("scenario_import"), data)
    assert response.status_code == 200, response.content.decode()
    assert "Preview: nothing is saved yet" in response.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode())[1]
    return client.post(url("scenario_import"), {"token": token})


def test_it_imports_a_scenario_file_as_a_draft(client, author, draft):
    text = client.get(url("scenario_export", draft.code, "yaml")).content
    text = text.replace(b"title: Tiny", b"title: Tiny again", 1)  # identical content: no v2
    response = preview_and_confirm(client, {"file": SimpleUploadedFile("tiny.yaml", text)})
    new = Scenario.objects.get(key="tiny", version=2)
    assert response["Location"] == url("scenario_detail", new.code)
    assert new.status == Scenario.Status.DRAFT


def test_it_lists_import_errors_with_path_and_line_and_saves_nothing(client, author):
    text = b"format: cascade-scenario/1\nkey: broken\ntitle: Broken\nstart: nowhere\n"
    response = client.post(url("scenario_import"), {"file": SimpleUploadedFile("b.yaml", text)})
    html = response.content.decode()
    assert response.status_code == 400
    assert "The file was not imported" in html
    assert "<code>start</code></td><td>4</td>" in html
    assert not Scenario.objects.exists()


def test_it_refuses_unsupported_upload_types(client, author):
    response = client.post(url("scenario_import"), {"file": SimpleUploadedFile("x.txt", b"hi")})
    assert "unsupported file type" in response.content.decode()


def test_it_previews_what_a_role_sees(client, author, draft):
    html = client.get(url("scenario_preview", draft.code) + "?role=hospital").content.decode()
    assert "As Hospital" in html
    assert "News: outage" in html
    assert "SIEM: mass encryption" not in html  # addressed to the cloud only
    assert "Your data is on a leak site" in html  # cascades from the cloud paying
    assert "What do you do first?" in html
    html = client.get(url("scenario_preview", draft.code) + "?role=cloud").content.decode()
    assert "SIEM: mass encryption" in html


def test_it_serves_the_graph_partial(client, author, draft):
    html = client.get(url("scenario_graph", draft.code)).content.decode()
    assert html.lstrip().startswith('<section id="graph-panel"')
    assert 'data-stage="contained"' in html


def test_it_exports_the_msel_as_csv_and_xlsx(client, author, draft):
    response = client.get(url("scenario_export", draft.code, "csv"))
    assert response["Content-Disposition"] == 'attachment; filename="tiny-v1.msel.csv"'
    assert "SIEM: mass encryption" in response.content.decode("utf-8-sig")
    response = client.get(url("scenario_export", draft.code, "xlsx"))
    assert response.content[:2] == b"PK"  # a zip container, as every .xlsx is


def test_it_imports_an_msel_as_a_linear_draft(client, author, draft):
    csv = client.get(url("scenario_export", draft.code, "csv")).content
    upload = SimpleUploadedFile("plan.csv", csv)
    data = {"file": upload, "title": "From the MSEL", "key": "from-msel"}
    response = preview_and_confirm(client, data)
    scenario = Scenario.objects.get(key="from-msel")
    assert response["Location"] == url("scenario_detail", scenario.code)
    assert scenario.status == Scenario.Status.DRAFT
    assert scenario.injects.filter(title="SIEM: mass encryption").exists()


def test_it_asks_for_title_and_key_with_an_msel(client, author):
    response = client.post(url("scenario_import"), {"file": SimpleUploadedFile("p.csv", b"x")})
    assert "An MSEL import needs a title and a key" in response.content.decode()


def test_it_orders_transitions_as_asked(client, author, draft):
    end = draft.stages.get(key="end")
    fields = {
        "transition-start-to_stage": end.pk,
        "transition-start-mode": "all",
        "transition-start-prompt": "first-move",
        "transition-start-options": ["wait"],
    }
    client.post(url("stage_part_create", draft.code, "start", "transition"), fields, **HTMX)
    appended = Transition.objects.get(from_stage__key="start", to_stage=end)
    assert appended.order == 1
    edit = url("part_edit", draft.code, "transition", appended.pk)
    fields = {k.removeprefix("transition-start-"): v for k, v in fields.items()}
    client.post(edit, {**fields, "label": "Everyone waited", "order": "0"})
    appended.refresh_from_db()
    assert (appended.order, appended.label) == (0, "Everyone waited")


def test_it_edits_an_empty_scenario_without_a_rubric(client, author):
    client.post(url("scenario_create"), {"title": "Bare", "key": "bare"})
    scenario = Scenario.objects.get(key="bare")
    html = client.get(url("scenario_detail", scenario.code)).content.decode()
    assert "to fix before publishing" in html
    assert "0 stages, 0 transitions." in html
    assert client.get(url("scenario_export", scenario.code, "yaml")).status_code == 200
    html = client.get(url("scenario_preview", scenario.code)).content.decode()
    assert "Add roles to the scenario to preview it" in html


def test_it_loads_an_add_form_when_opened(client, author, draft):
    add = url("stage_part_create", draft.code, "start", "transition")
    html = client.get(add, **HTMX).content.decode()
    assert html.lstrip().startswith("<form")
    assert f'hx-post="{add}"' in html
    assert 'hx-target="#section-stages"' in html
    assert "first-move: Pay the ransom (pay)" in html
    assert re.search(r'name="transition-start-to_stage"[^>]*autofocus', html)
    # Without JavaScript the same URL is a page of its own.
    page = client.get(add).content.decode()
    assert "<h1>Add a transition</h1>" in page


def test_it_keeps_the_editor_light_by_not_building_closed_forms(client, author, draft):
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert 'name="inject-start-key"' not in html
    assert 'hx-trigger="toggle once"' in html


def test_it_works_without_javascript(client, author, draft):
    add = url("role_create", draft.code)
    response = client.post(
        add, {"role-key": "cloud", "role-label": "Again", "role-sector": "water"}
    )
    assert response.status_code == 422
    assert "“cloud” is already used here" in response.content.decode()
    response = client.post(
        add, {"role-key": "water", "role-label": "Water", "role-sector": "water"}
    )
    assert response["Location"] == url("scenario_detail", draft.code)
    response = client.post(url("part_delete", draft.code, "role", "water"))
    assert response["Location"] == url("scenario_detail", draft.code)
    assert not draft.roles.filter(key="water").exists()


def test_it_refuses_oversized_uploads(client, author):
    big = SimpleUploadedFile("big.yaml", b"#" * (5 * 1024 * 1024 + 1))
    response = client.post(url("scenario_import"), {"file": big})
    assert "larger than 5 MiB" in response.content.decode()
    assert not Scenario.objects.exists()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2:00", 120), ("1:30:00", 5400), ("0:45", 45), ("5m", 300), ("1h30m", 5400), ("90", 90)],
)
def test_durations_are_typed_as_people_write_them(text, seconds):
    assert ClockDurationField().clean(text) == seconds


@pytest.mark.parametrize("text", ["1:75", "soon", "1:2:3:4"])
def test_a_malformed_duration_is_refused(text):
    with pytest.raises(ValidationError):
        ClockDurationField().clean(text)


def test_the_editor_shows_durations_as_mm_ss(client, author, draft):
    draft.injects.filter(release="timed").update(offset_seconds=150)
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert "at +2:30" in html
    assert ClockDurationField().prepare_value(3725) == "1:02:05"


def test_it_duplicates_a_stage_with_its_injects_prompts_and_ways_out(client, author, draft):
    stage = draft.stages.get(key="start")
    response = client.post(url("part_duplicate", draft.code, "stage", "start"), **HTMX)
    assert response.status_code == 200
    copy = draft.stages.get(key="start-copy")
    assert copy.title == f"{stage.title} (copy)"
    assert sorted(copy.injects.values_list("key", flat=True)) == sorted(
        f"{key}-copy" for key in stage.injects.values_list("key", flat=True)
    )
    assert copy.prompts.count() == stage.prompts.count()
    for original, twin in zip(stage.transitions.all(), copy.transitions.all(), strict=True):
        assert twin.to_stage == original.to_stage
        if original.condition.get("prompt"):
            assert twin.condition["prompt"] == f"{original.condition['prompt']}-copy"
    for prompt in copy.prompts.all():
        for option in prompt.options.all():
            assert all(c.inject.stage == copy for c in option.consequences.all()
                       if c.inject.key.endswith("-copy"))  # fmt: skip
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert "stage &#x27;start-copy&#x27; is unreachable from start" in html  # until linked


def test_it_duplicates_an_inject_and_a_prompt_and_nothing_else(client, author, draft):
    client.post(url("part_duplicate", draft.code, "inject", "news"))
    copy = draft.injects.get(key="news-copy")
    assert copy.stage == draft.injects.get(key="news").stage
    prompt = draft.prompts.first()
    client.post(url("part_duplicate", draft.code, "prompt", prompt.key))
    twin = draft.prompts.get(key=f"{prompt.key}-copy")
    assert list(twin.options.values_list("key", flat=True)) == list(
        prompt.options.values_list("key", flat=True)
    )
    response = client.post(url("part_duplicate", draft.code, "role", "hospital"))
    assert response.status_code == 404


def test_it_duplicates_a_whole_scenario_as_a_new_draft(client, author, draft):
    response = client.post(url("scenario_duplicate", draft.code))
    copy = Scenario.objects.get(key="tiny-copy")
    assert response["Location"] == url("scenario_detail", copy.code)
    assert (copy.version, copy.status, copy.title) == (1, "draft", f"{draft.title} (copy)")
    original, twin = export_document(draft), export_document(copy)
    for doc in (original, twin):
        doc.pop("key"), doc.pop("title")
    assert twin == original


def test_it_reorders_injects_and_stages_with_up_and_down(client, author, draft):
    stage = draft.injects.get(key="news").stage
    keys = list(stage.injects.values_list("key", flat=True))
    assert len(keys) >= 2, keys
    last = keys[-1]
    client.post(url("part_move", draft.code, "inject", last, "up"), **HTMX)
    assert list(stage.injects.values_list("key", flat=True)) == [*keys[:-2], last, keys[-2]]
    client.post(url("part_move", draft.code, "inject", keys[0], "up"), **HTMX)  # at the top
    assert stage.injects.first().key == keys[0]
    stages = list(draft.stages.values_list("key", flat=True))
    client.post(url("part_move", draft.code, "stage", stages[0], "down"))
    assert list(draft.stages.values_list("key", flat=True))[:2] == [stages[1], stages[0]]
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert f"Move inject {draft.injects.get(key=last).title} up" in html
    assert client.post(url("part_move", draft.code, "inject", last, "sideways")).status_code == 404


def test_the_grid_lists_every_inject_sorted_by_time(client, author, draft):
    draft.injects.filter(key="news").update(release="timed", offset_seconds=3600)
    html = client.get(url("scenario_grid", draft.code) + "?sort=time").content.decode()
    rows = re.findall(r'<tr id="grid-([a-z0-9-]+)"', html)
    assert sorted(rows) == sorted(draft.injects.values_list("key", flat=True))
    offsets = dict(draft.injects.values_list("key", "offset_seconds"))
    order = [(offsets[key] is None, offsets[key] or 0) for key in rows]
    assert order == sorted(order)  # by time, manual ones last
    assert "+1:00:00" in html


def test_a_grid_row_is_edited_in_place(client, author, draft):
    row = url("grid_row", draft.code, "news")
    form = client.get(row, **HTMX).content.decode()
    assert form.lstrip().startswith('<tr id="grid-news" class="editing">')
    fields = {"title": "News: outage spreads", "release": "timed", "offset_seconds": "2:30",
              "channel": "news", "tlp": "CLEAR", "severity": "high"}  # fmt: skip
    html = client.post(row, fields, **HTMX).content.decode()
    assert "+2:30" in html
    assert "News: outage spreads" in html
    news = draft.injects.get(key="news")
    assert (news.offset_seconds, news.tlp, news.severity) == (150, "CLEAR", "high")
    bad = client.post(row, {**fields, "offset_seconds": ""}, **HTMX).content.decode()
    assert "A timed inject needs its offset into the stage." in bad
    assert "undo-bar" not in bad  # nothing saved, nothing new to undo


def test_a_grid_edit_is_cancelled_and_undone_on_the_grid(client, author, draft):
    row = url("grid_row", draft.code, "news")
    shown = client.get(row + "?cancel=1", **HTMX).content.decode()  # Cancel or Escape
    assert shown.lstrip().startswith('<tr id="grid-news">')
    assert "<form" not in shown
    fields = {"title": "News: outage spreads", "release": "timed", "offset_seconds": "2:30",
              "channel": "news", "tlp": "CLEAR", "severity": "high"}  # fmt: skip
    saved = client.post(row, fields, **HTMX).content.decode()
    oob = r'<template>\s*<span id="undo-bar" hx-swap-oob="true">.*?</template>'
    undo_bar = re.search(oob, saved, re.S)  # a span cannot sit beside a row but in a template
    assert undo_bar
    assert "Undo: edit inject" in undo_bar.group()
    grid = client.get(url("scenario_grid", draft.code)).content.decode()
    assert "Undo: edit inject" in grid
    assert 'name="next" value="grid"' in grid
    response = client.post(url("scenario_undo", draft.code), {"next": "grid"}, follow=True)
    assert response.redirect_chain == [(url("scenario_grid", draft.code), 302)]
    assert "Undone: edit inject." in response.content.decode()
    assert draft.injects.get(key="news").title != "News: outage spreads"
    response = client.post(url("scenario_undo", draft.code), {"next": "grid"}, follow=True)
    assert response.redirect_chain[-1][0] == url("scenario_grid", draft.code)
    assert "Nothing to undo." in response.content.decode()


def test_a_published_grid_is_read_only(client, author, draft):
    draft.status = Scenario.Status.PUBLISHED
    draft.save()
    html = client.get(url("scenario_grid", draft.code)).content.decode()
    assert "hx-get" not in html
    assert client.get(url("grid_row", draft.code, "news")).status_code == 403


def test_criteria_are_chosen_from_a_compact_grouped_list(client, author, draft):
    html = client.get(url("stage_part_create", draft.code, "start", "inject")).content.decode()
    assert '<select name="inject-start-criteria"' in html
    assert 'size="8"' in html
    assert "<optgroup" in html
    assert 'type="checkbox" name="inject-start-criteria"' not in html


def _prompt_with_options(**rows):
    data = {
        "prompt-start-key": "tell",
        "prompt-start-question": "Tell the regulator now?",
        "prompt-start-kind": "choice",
        "prompt-start-audience": "all",
        "prompt-start-open_offset_seconds": "0:00",
        "prompt-start-options-TOTAL_FORMS": "3",
        "prompt-start-options-INITIAL_FORMS": "0",
    }
    for index, row in rows.items():
        for name, value in row.items():
            data[f"prompt-start-options-{index[-1]}-{name}"] = value
    return data


def test_a_prompt_is_added_with_its_options_effects_and_consequences(client, author, draft):
    form = client.get(url("stage_part_create", draft.code, "start", "prompt"), **HTMX)
    html = form.content.decode()
    assert 'name="prompt-start-options-TOTAL_FORMS"' in html
    assert "Add another option" in html
    data = _prompt_with_options(
        row0={"label": "Now", "effects": "info-sharing:15, respond 5", "target": "dependents"},
        row1={
            "label": "Later",
            "key": "wait-a-day",
            "effects": "info-sharing:-10",
            "consequence": "Regulator calls, angry",
            "target": "chooser",
        },
        row2={"label": "", "target": "dependents"},  # an empty row is left out
    )
    response = client.post(url("stage_part_create", draft.code, "start", "prompt"), data, **HTMX)
    assert "Tell the regulator now?" in response.content.decode()
    prompt = draft.prompts.get(key="tell")
    assert [(o.key, o.effects) for o in prompt.options.all()] == [
        ("now", {"info-sharing": 15, "respond": 5}),
        ("wait-a-day", {"info-sharing": -10}),
    ]
    consequence = prompt.options.get(key="wait-a-day").consequences.get()
    assert (consequence.target, consequence.inject.title) == ("chooser", "Regulator calls, angry")
    assert consequence.inject.release == Inject.Release.CONSEQUENCE


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"row0": {"label": "A", "effects": "nope:5", "target": "all"}}, "not a criterion"),
        ({"row0": {"label": "A", "effects": "respond:500", "target": "all"}}, "between -100"),
        ({"row0": {"label": "A", "effects": "respond lots", "target": "all"}}, "criterion:points"),
        (
            {"row0": {"label": "Go", "target": "all"}, "row1": {"label": "go", "target": "all"}},
            "Two options have the key “go”",
        ),
    ],
)
def test_a_prompt_with_bad_options_saves_nothing(client, author, draft, rows, message):
    data = _prompt_with_options(**rows)
    response = client.post(url("stage_part_create", draft.code, "start", "prompt"), data, **HTMX)
    assert message in response.content.decode()
    assert not draft.prompts.filter(key="tell").exists()


def test_another_option_row_comes_with_the_new_row_count(client, author, draft):
    row_url = url("option_row", draft.code, "start")
    html = client.get(row_url, {"prompt-start-options-TOTAL_FORMS": "2"}, **HTMX).content.decode()
    assert 'name="prompt-start-options-2-label"' in html
    assert "Option 3" in html
    assert re.search(r'id="id_prompt-start-options-TOTAL_FORMS" value="3" hx-swap-oob', html)
    full = client.get(row_url, {"prompt-start-options-TOTAL_FORMS": "12"}, **HTMX)
    assert full.status_code == 204
    assert client.get(row_url, {"prompt-start-options-TOTAL_FORMS": "x"}).status_code == 204


def test_injects_are_reordered_by_a_dropped_key_list(client, author, draft):
    reorder = url("part_reorder", draft.code, "inject", "leak")
    response = client.post(reorder, {"key": ["leak", "siem-alert", "news"]}, **HTMX)
    assert response.status_code == 200
    stage = draft.stages.get(key="start")
    assert list(stage.injects.values_list("key", flat=True)) == ["leak", "siem-alert", "news"]
    html = response.content.decode()
    assert html.index('id="inject-leak"') < html.index('id="inject-news"')
    assert 'data-sort-group="injects-start"' in html
    stale = client.post(reorder, {"key": ["leak", "news"]})
    assert stale.status_code == 302
    assert list(stage.injects.values_list("key", flat=True)) == ["leak", "siem-alert", "news"]


def test_undo_takes_back_the_last_change_and_says_what_it_is(client, author, draft):
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert re.search(r"<button[^>]*disabled>Undo</button>", html)
    client.post(url("part_delete", draft.code, "stage", "end"), **HTMX)
    html = client.get(url("scenario_detail", draft.code)).content.decode()
    assert "Undo: delete stage" in html
    response = client.post(url("scenario_undo", draft.code), **HTMX)
    html = response.content.decode()
    assert 'id="stage-end"' in html  # the stages come back out of band
    assert 'id="undo-bar" hx-swap-oob="true"' in html
    assert draft.stages.filter(key="end").exists()
    response = client.post(url("scenario_undo", draft.code))
    assert response.status_code == 302
    messages = client.get(response["Location"]).content.decode()
    assert "Nothing to undo." in messages


def test_the_grid_adds_a_row_at_its_end(client, author, draft):
    html = client.get(url("scenario_grid", draft.code)).content.decode()
    assert 'id="new-grid-row"' in html
    assert '<td tabindex="0">' in html  # arrow-key navigation starts at the first cell
    stage = draft.stages.get(key="spread")
    fields = {"new-stage": stage.pk, "new-title": "Hospital diverts ambulances",
              "new-release": "timed", "new-offset_seconds": "12:00", "new-channel": "phone",
              "new-tlp": "AMBER", "new-severity": "high"}  # fmt: skip
    html = client.post(url("grid_add", draft.code), fields, **HTMX).content.decode()
    inject = draft.injects.get(key="hospital-diverts-ambulances")
    assert (inject.stage, inject.offset_seconds, inject.tlp) == (stage, 720, "AMBER")
    assert html.index('id="grid-hospital-diverts-ambulances"') < html.index('id="new-grid-row"')
    assert html.count('id="undo-bar" hx-swap-oob="true"') == 1  # once, not in the new row too
    assert "Undo: add inject" in html
    client.post(url("grid_add", draft.code), fields, **HTMX)
    assert draft.injects.filter(key="hospital-diverts-ambulances-2").exists()
    bad = client.post(url("grid_add", draft.code), {**fields, "new-offset_seconds": ""}, **HTMX)
    assert "A timed inject needs its offset into the stage." in bad.content.decode()
    assert "undo-bar" not in bad.content.decode()
    assert draft.injects.filter(title="Hospital diverts ambulances").count() == 2


def test_keys_left_empty_are_made_from_the_name(client, author, draft):
    data = {"role-label": "Cloud provider", "role-sector": "cloud_it"}  # "cloud" is taken
    client.post(url("role_create", draft.code), data, **HTMX)
    assert draft.roles.filter(key="cloud-provider", label="Cloud provider").exists()
    client.post(url("role_create", draft.code), data, **HTMX)
    assert draft.roles.filter(key="cloud-provider-2").exists()
    client.post(url("stage_create", draft.code), {"stage-title": "Day two: recovery"}, **HTMX)
    assert draft.stages.filter(key="day-two-recovery").exists()
    response = client.post(url("scenario_create"), {"title": "Tiny", "rubric": draft.rubric.pk})
    assert Scenario.objects.get(title="Tiny").key == "tiny-2"  # "tiny" names another scenario
    assert response.status_code == 302


def _as_posted(form) -> dict:
    """What a browser posts for ``form`` as it is shown (every field at its value)."""
    data = {}
    for bound in form:
        value = bound.value()
        if value is not None and not bound.field.disabled:
            data[bound.html_name] = value
    return data


def _prompt_form_as_posted(draft, prompt) -> tuple[PromptWithOptionsForm, dict]:
    """The edit form of ``prompt`` and what the browser posts for it unchanged."""
    form = PromptWithOptionsForm(scenario=draft, instance=prompt)
    data = {**_as_posted(form), **_as_posted(form.option_rows.management_form)}
    for row in form.option_rows:
        data.update(_as_posted(row))
    return form, data


def test_a_prompt_is_edited_with_its_options_in_one_form(client, author, draft):
    """Options, their effects and consequence are rows of the prompt's own edit form."""
    prompt = draft.prompts.get(key="first-move")
    edit = url("part_edit", draft.code, "prompt", "first-move")
    html = client.get(edit).content.decode()
    assert 'value="detect:10, respond:20"' in html  # isolate's effects, as text
    _, data = _prompt_form_as_posted(draft, prompt)
    assert data["options-1-consequence"] == draft.injects.get(key="leak").title
    data.update({
        "options-0-key": "contain", "options-0-effects": "respond:25",  # renamed
        "options-1-consequence": "The leak goes public", "options-1-target": "all",
        "options-3-label": "Call the national CERT", "options-3-effects": "info-sharing 30",
        "options-3-consequence": "CERT asks for logs",
    })  # fmt: skip
    response = client.post(edit, data)
    assert response.status_code == 302, response.content.decode()
    options = {o.key: o for o in prompt.options.all()}
    assert list(options) == ["contain", "pay", "wait", "call-the-national-cert"]
    assert options["contain"].effects == {"respond": 25}
    transition = draft.transitions.get(from_stage__key="start", is_default=False)
    assert transition.condition["options"] == ["contain"]  # the rename reached the condition
    leak = options["pay"].consequences.get()
    assert (leak.inject.key, leak.inject.title, leak.target) == (
        "leak",
        "The leak goes public",
        "all",
    )
    cert = options["call-the-national-cert"].consequences.get().inject
    assert (cert.key, cert.title, cert.stage.key) == (
        "first-move-call-the-national-cert",
        "CERT asks for logs",
        "start",
    )
    assert svc.last_change(draft) == "edit prompt"

    stale = client.post(edit, data)  # the same page posted twice: the new row again
    assert "has an option “call-the-national-cert” already" in stale.content.decode()
    assert prompt.options.count() == 4

    _, data = _prompt_form_as_posted(draft, prompt)
    swapped = client.post(edit, {**data, "options-0-key": "pay"})
    assert "Two options have the key “pay”" in swapped.content.decode()
    data["options-0-label"] = ""
    response = client.post(edit, data)
    assert "delete it with its Delete button" in response.content.decode()
    data["options-0-label"] = "Contain"
    data["options-1-consequence"] = ""  # the consequence goes; its inject stays, unreleased
    assert client.post(edit, data).status_code == 302
    assert not options["pay"].consequences.exists()
    assert draft.injects.filter(key="leak").exists()


def test_an_option_with_consequences_a_row_cannot_show_keeps_them(client, author, draft):
    """Several consequences (or one to named roles) are edited under the prompt; the row
    shows them disabled and a save leaves them as they are."""
    prompt = draft.prompts.get(key="first-move")
    pay = prompt.options.get(key="pay")
    pay.consequences.create(inject=draft.injects.get(key="news"), order=1)
    form, data = _prompt_form_as_posted(draft, prompt)
    assert form.option_rows[1]["consequence"].field.disabled
    data["options-1-label"] = "Pay them"
    data["options-1-consequence"] = "ignored: the cell is disabled"
    assert (
        client.post(url("part_edit", draft.code, "prompt", "first-move"), data).status_code == 302
    )
    pay.refresh_from_db()
    assert pay.label == "Pay them"
    assert sorted(pay.consequences.values_list("inject__key", flat=True)) == ["leak", "news"]
    assert draft.injects.get(key="leak").title != "ignored: the cell is disabled"


def test_it_names_a_nul_in_an_msel_header_instead_of_failing(client, author, draft):
    exported = client.get(url("scenario_export", draft.code, "csv")).content.decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(exported))  # cells may span lines
    damaged = as_csv([[*header, "Own\x00er"], *([*row, "x"] for row in rows)]).encode()
    data = {"file": SimpleUploadedFile("plan.csv", damaged), "title": "T", "key": "nul-header"}
    response = client.post(url("scenario_import"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert len(header) == 12
    assert "<code>row 1, column M</code>" in page  # the header row's 13th column, the NUL's
    assert "1 problem<" in page  # not one more at each inject's row
    assert "is not a column name (text without NUL characters" in page
    assert not Scenario.objects.filter(key="nul-header").exists()
