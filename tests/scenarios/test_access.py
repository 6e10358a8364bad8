"""Only facilitators (perm scenarios.author_scenario) may author; unknown codes are 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories


@pytest.fixture
def scenario(db):
    return factories.make_scenario(published=False)


def _pages(scenario):
    code = scenario.code
    return [
        ("get", reverse("scenarios:scenario_list")),
        ("get", reverse("scenarios:scenario_create")),
        ("get", reverse("scenarios:scenario_import")),
        ("get", reverse("scenarios:scenario_detail", args=[code])),
        ("get", reverse("scenarios:scenario_graph", args=[code])),
        ("get", reverse("scenarios:scenario_preview", args=[code])),
        ("get", reverse("scenarios:scenario_export", args=[code, "yaml"])),
        ("get", reverse("scenarios:part_edit", args=[code, "stage", "start"])),
        ("post", reverse("scenarios:role_create", args=[code])),
        ("post", reverse("scenarios:stage_create", args=[code])),
        ("post", reverse("scenarios:stage_part_create", args=[code, "start", "inject"])),
        ("post", reverse("scenarios:prompt_part_create", args=[code, "first-move", "option"])),
        ("post", reverse("scenarios:part_delete", args=[code, "stage", "end"])),
        ("post", reverse("scenarios:scenario_details", args=[code])),
        ("post", reverse("scenarios:scenario_publish", args=[code])),
        ("post", reverse("scenarios:scenario_new_draft", args=[code])),
        ("post", reverse("scenarios:scenario_delete", args=[code])),
        ("post", reverse("scenarios:part_reorder", args=[code, "inject", "news"])),
        ("post", reverse("scenarios:scenario_undo", args=[code])),
        ("get", reverse("scenarios:option_row", args=[code, "start"])),
        ("post", reverse("scenarios:grid_add", args=[code])),
    ]


def test_it_redirects_anonymous_visitors_to_login(client, scenario):
    for method, url in _pages(scenario):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


@pytest.mark.parametrize("persona", ["bob", "mallory"])
def test_it_forbids_users_who_cannot_author(client, scenario, persona, request):
    client.force_login(request.getfixturevalue(persona))
    for method, url in _pages(scenario):
        assert getattr(client, method)(url).status_code == 403, url
    assert scenario.stages.filter(key="end").exists()


def test_it_forbids_non_authors_before_looking_up_the_code(client, bob):
    """A non-author cannot tell a real code from a made-up one."""
    client.force_login(bob)
    url = reverse("scenarios:scenario_detail", args=["no-such-code"])
    assert client.get(url).status_code == 403


def test_it_answers_404_to_authors_for_unknown_codes_and_parts(client, alice, scenario):
    client.force_login(factories.grant_authoring(alice))
    code = scenario.code
    for url in [
        reverse("scenarios:scenario_detail", args=["no-such-code"]),
        reverse("scenarios:scenario_export", args=["no-such-code", "yaml"]),
        reverse("scenarios:scenario_export", args=[code, "pdf"]),
        reverse("scenarios:part_edit", args=[code, "stage", "nope"]),
        reverse("scenarios:part_edit", args=[code, "transition", "abc"]),
        reverse("scenarios:part_edit", args=[code, "widget", "start"]),
    ]:
        assert client.get(url).status_code == 404, url


def test_it_hides_parts_of_other_scenarios(client, alice, scenario):
    other = factories.make_scenario(published=False)
    transition = other.transitions.first()
    client.force_login(factories.grant_authoring(alice))
    url = reverse("scenarios:part_edit", args=[scenario.code, "transition", transition.pk])
    assert client.get(url).status_code == 404


def test_it_shows_the_scenarios_nav_link_only_to_authors(client, alice, bob):
    client.force_login(bob)
    assert reverse("scenarios:scenario_list") not in client.get("/").content.decode()
    client.force_login(factories.grant_authoring(alice))
    assert reverse("scenarios:scenario_list") in client.get("/").content.decode()
