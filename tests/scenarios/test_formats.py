"""Import, export and round-trip of the scenario file format, and the shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from scenarios.formats import (
    ScenarioFormatError,
    dump_document,
    export_document,
    format_duration,
    import_scenario,
    load_document,
    parse_duration,
    validate_document,
)
from scenarios.graph import analyse
from scenarios.models import (
    Consequence,
    Criterion,
    Inject,
    Option,
    Role,
    Scenario,
    Stage,
    Transition,
)
from scenarios.rubrics import load_rubric
from tests.factories import make_scenario

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
SHIPPED = sorted((FIXTURES / "scenarios").glob("*.yaml"))
SHIPPED_IDS = [path.stem for path in SHIPPED]


@pytest.fixture
def rubric(db):
    return load_rubric(FIXTURES / "rubric" / "cascade-resilience.yaml")


def db_counts() -> dict[str, int]:
    models = (Scenario, Role, Stage, Inject, Option, Consequence, Transition)
    return {model.__name__: model.objects.count() for model in models}


def test_it_ships_at_least_three_scenarios():
    assert {"cloud-ransomware", "payment-flood", "airport-supply-chain"} <= set(SHIPPED_IDS)


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_it_validates_every_shipped_scenario_against_the_shipped_rubric(path, rubric):
    criteria = set(Criterion.objects.filter(rubric=rubric).values_list("key", flat=True))
    doc = load_document(path.read_text(encoding="utf-8"), filename=path.name)
    assert validate_document(doc, criteria=criteria) == []


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_it_ships_scenarios_rich_enough_for_a_real_exercise(path):
    doc = load_document(path.read_text(encoding="utf-8"))
    roles, stages = doc["roles"], doc["stages"]
    assert len(roles) >= 4
    assert len({role["sector"] for role in roles}) >= 3
    assert any(role["depends_on"] for role in roles), "a dependency graph"
    assert len(stages) >= 8
    branch_points = [
        stage
        for stage in stages
        if sum(1 for t in stage.get("transitions", []) if "when" in t) >= 1
    ]
    assert len(branch_points) >= 2
    injects = [inject for stage in stages for inject in stage.get("injects", [])]
    releases = {inject["release"] for inject in injects}
    assert {"manual", "consequence"} <= releases
    assert any(release not in ("manual", "consequence") for release in releases), "timed"
    assert len({inject["channel"] for inject in injects}) >= 5
    assert len({inject["tlp"] for inject in injects}) >= 3
    assert len({inject["severity"] for inject in injects}) >= 4
    options = [
        option
        for stage in stages
        for prompt in stage.get("prompts", [])
        for option in prompt.get("options", [])
    ]
    assert any(option.get("consequences") for option in options), "a cascade"
    assert all(option.get("effects") for option in options), "every option moves the rubric"
    edges = [(s["key"], t["to"]) for s in stages for t in s.get("transitions", [])]
    assert analyse([s["key"] for s in stages], edges, doc["start"]).ok


def test_it_uses_the_demo_role_keys_in_the_cloud_scenario():
    doc = load_document((FIXTURES / "scenarios" / "cloud-ransomware.yaml").read_text())
    assert [role["key"] for role in doc["roles"]] == ["cloud", "hospital", "bank", "water"]
    payment = load_document((FIXTURES / "scenarios" / "payment-flood.yaml").read_text())
    assert {"cloud", "hospital", "bank", "water"} <= {role["key"] for role in payment["roles"]}


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_it_round_trips_every_shipped_scenario(path, rubric):
    first = import_scenario(path.read_text(encoding="utf-8"), filename=path.name)
    exported = export_document(first)
    for fmt in ("yaml", "json"):
        again = import_scenario(dump_document(exported, fmt), filename=f"x.{fmt}")
        assert export_document(again) == exported
        assert dump_document(export_document(again), fmt) == dump_document(exported, fmt)


def test_it_round_trips_the_factory_scenario(db):
    scenario = make_scenario()
    exported = export_document(scenario)
    again = import_scenario(dump_document(exported))
    assert export_document(again) == exported


def test_a_coordinating_body_round_trips(db):
    scenario = make_scenario()
    Role.objects.create(
        scenario=scenario, key="isac", label="Sector ISAC", sector="finance", coordinating=True
    )
    exported = export_document(scenario)
    isac = next(role for role in exported["roles"] if role["key"] == "isac")
    assert isac["coordinating"] is True
    assert all("coordinating" not in role for role in exported["roles"] if role is not isac)
    for fmt in ("yaml", "json"):
        again = import_scenario(dump_document(exported, fmt), filename=f"x.{fmt}")
        assert again.roles.get(key="isac").coordinating
        assert not again.roles.get(key="bank").coordinating
        assert export_document(again) == exported


def test_it_exports_what_the_file_says(rubric):
    path = FIXTURES / "scenarios" / "cloud-ransomware.yaml"
    scenario = import_scenario(path.read_text())
    doc = export_document(scenario)
    assert doc["start"] == "detection"
    detection = doc["stages"][0]
    assert detection["duration"] == "20m"
    assert detection["injects"][0]["release"] == "0s"
    assert detection["injects"][0]["audience"] == {"roles": ["cloud"]}
    first_move = detection["prompts"][0]
    assert first_move["opens"] == "2m"
    assert first_move["options"][0]["consequences"] == [
        {"inject": "tenant-outage-notice", "to": "dependents"}
    ]
    assert detection["transitions"][0]["when"] == {
        "mode": "any",
        "prompt": "provider-first-move",
        "options": ["isolate-platform"],
        "roles": ["cloud"],
    }
    assert detection["transitions"][-1] == {
        "to": "spreading",
        "label": "The attacker keeps access to the platform",
        "default": True,
    }
    hospital = scenario.roles.get(key="hospital")
    assert set(hospital.depends_on.values_list("key", flat=True)) == {"cloud", "water"}
    assert scenario.sectors == ["cloud_it", "healthcare", "finance", "water"]
    assert scenario.start_stage.key == "detection"


def test_it_stores_conditions_as_data_with_every_field(rubric):
    path = FIXTURES / "scenarios" / "cloud-ransomware.yaml"
    scenario = import_scenario(path.read_text())
    transition = Transition.objects.get(
        from_stage__scenario=scenario, to_stage__key="joint-recovery"
    )
    assert transition.condition == {
        "mode": "at_least",
        "prompt": "customer-stance",
        "options": ["join-crisis-cell"],
        "roles": [],
        "count": 2,
    }


def test_it_makes_a_new_version_when_the_key_exists(rubric):
    text = (FIXTURES / "scenarios" / "payment-flood.yaml").read_text()
    first = import_scenario(text)
    second = import_scenario(text, publish=False)
    assert (first.version, second.version) == (1, 2)
    assert second.previous_version == first
    assert first.is_published
    assert first.published_at is not None
    assert not second.is_published
    assert second.published_at is None


def test_it_changes_nothing_when_the_import_is_invalid(rubric):
    text = (FIXTURES / "scenarios" / "cloud-ransomware.yaml").read_text()
    import_scenario(text)
    before = db_counts()
    broken = text.replace("  - key: bank\n", "  - key: hospital\n", 1)
    with pytest.raises(ScenarioFormatError) as caught:
        import_scenario(broken)
    assert any("duplicate role key 'hospital'" in str(e) for e in caught.value.errors)
    assert db_counts() == before


def test_it_refuses_an_unknown_rubric(db):
    text = (FIXTURES / "scenarios" / "airport-supply-chain.yaml").read_text()
    with pytest.raises(ScenarioFormatError) as caught:
        import_scenario(text)
    [error] = caught.value.errors
    assert str(error).startswith("rubric (line 16): unknown rubric 'cascade-resilience'")
    assert Scenario.objects.count() == 0


def test_it_checks_criteria_against_the_named_rubric(rubric):
    text = (FIXTURES / "scenarios" / "airport-supply-chain.yaml").read_text()
    broken = text.replace("          - de-ae\n", "          - de-xx\n", 1)
    with pytest.raises(ScenarioFormatError) as caught:
        import_scenario(broken)
    assert [e.message for e in caught.value.errors] == ["unknown criterion 'de-xx'"]


def test_it_refuses_a_document_that_is_not_a_mapping():
    with pytest.raises(ScenarioFormatError) as caught:
        load_document("- just\n- a list\n")
    assert str(caught.value) == "document (line 1): the document must be a mapping of fields"


def test_it_refuses_alias_bombs_without_expanding_them():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    with pytest.raises(ScenarioFormatError) as caught:
        load_document(bomb)
    assert "more than 50000 nodes" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(300, 300), ("300", 300), ("5m", 300), ("1h30m", 5400), ("90s", 90), ("0s", 0)],
)
def test_it_parses_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 min", "-1", -1, True, 1.5, "m", "1h-3m", None])
def test_it_refuses_malformed_durations(text):
    assert parse_duration(text) is None


def test_it_writes_canonical_durations():
    assert [format_duration(s) for s in (0, 90, 300, 5400, 3601)] == [
        "0s",
        "1m30s",
        "5m",
        "1h30m",
        "1h1s",
    ]


def test_it_exports_in_a_fixed_number_of_queries(rubric, django_assert_max_num_queries):
    scenario = import_scenario((FIXTURES / "scenarios" / "cloud-ransomware.yaml").read_text())
    scenario = Scenario.objects.get(pk=scenario.pk)
    with django_assert_max_num_queries(16):
        export_document(scenario)
