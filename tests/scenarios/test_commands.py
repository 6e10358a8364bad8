"""The scenario management commands: import, export, validate, load_fixtures."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from scenarios.formats import export_document, import_scenario
from scenarios.formats.fixtures import import_if_changed
from scenarios.formats.msel import read_msel
from scenarios.models import Criterion, Role, Rubric, Scenario, Stage
from scenarios.rubrics import load_rubric

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
CLOUD = FIXTURES / "scenarios" / "cloud-ransomware.yaml"


@pytest.fixture
def rubric(db):
    return load_rubric(FIXTURES / "rubric" / "cascade-resilience.yaml")


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_a_scenario_file(rubric):
    out, _ = run("import_scenario", str(CLOUD))
    assert out.strip() == "Imported cloud-ransomware v1 (published)."
    assert Scenario.objects.get(key="cloud-ransomware").is_published


def test_it_imports_a_draft(rubric):
    out, _ = run("import_scenario", str(CLOUD), "--draft")
    assert out.strip() == "Imported cloud-ransomware v1 (draft)."


def test_it_prints_every_problem_and_imports_nothing(rubric, tmp_path):
    broken = tmp_path / "broken.yaml"
    text = CLOUD.read_text().replace("start: detection", "start: nowhere")
    broken.write_text(text.replace("sector: finance", "sector: banking"))
    with pytest.raises(CommandError, match=r"2 problem\(s\); nothing imported"):
        run("import_scenario", str(broken))
    assert Scenario.objects.count() == 0
    assert Stage.objects.count() == 0


def test_it_imports_an_msel_spreadsheet(rubric, tmp_path):
    run("import_scenario", str(CLOUD))
    path = tmp_path / "regional-drill.xlsx"
    run("export_scenario", "cloud-ransomware", "--format", "msel-xlsx", "-o", str(path))
    out, _ = run("import_scenario", str(path), "--rubric", "cascade-resilience")
    lines = out.strip().splitlines()
    assert lines[-1] == "Imported regional-drill v1 (draft)."
    # The reading is printed: the export's own time column says offsets into the stage.
    assert f"{path}: times: offset into each stage" in lines
    scenario = Scenario.objects.get(key="regional-drill")
    assert scenario.title == "Regional Drill"
    assert scenario.roles.count() == 4


def test_it_exports_yaml_json_and_msel(rubric, tmp_path):
    run("import_scenario", str(CLOUD))
    out, _ = run("export_scenario", "cloud-ransomware")
    assert yaml.safe_load(out) == export_document(Scenario.objects.get(key="cloud-ransomware"))
    out, _ = run("export_scenario", "cloud-ransomware", "--format", "json", "--version", "1")
    assert json.loads(out)["start"] == "detection"
    target = tmp_path / "msel.csv"
    run("export_scenario", "cloud-ransomware", "--format", "msel-csv", "-o", str(target))
    rows = read_msel(target.read_bytes(), "csv")
    assert rows[0][:3] == ["Event No.", "Time into Stage", "Stage"]


def test_it_exports_the_requested_version(rubric):
    run("import_scenario", str(CLOUD))
    changed = CLOUD.read_text().replace(
        "title: Ransomware at a shared managed cloud provider", "title: Changed", 1
    )
    import_scenario(changed)
    assert yaml.safe_load(run("export_scenario", "cloud-ransomware")[0])["title"] == "Changed"
    first = yaml.safe_load(run("export_scenario", "cloud-ransomware", "--version", "1")[0])
    assert first["title"] == "Ransomware at a shared managed cloud provider"


def test_it_refuses_to_export_an_unknown_scenario(db):
    with pytest.raises(CommandError, match="no scenario 'nope' version 3"):
        run("export_scenario", "nope", "--version", "3")


def test_it_validates_a_good_file(rubric):
    out, _ = run("validate_scenario", str(CLOUD))
    assert out.strip() == f"{CLOUD}: valid"


def test_it_prints_each_validation_error_on_its_own_line_and_exits_1(rubric, tmp_path):
    broken = tmp_path / "broken.yaml"
    text = CLOUD.read_text().replace("sector: finance", "sector: banking")
    broken.write_text(text.replace("        release: 3m\n", "        release: later\n", 1))
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("validate_scenario", str(broken), stdout=out, stderr=StringIO())
    assert exit_info.value.code == 1
    assert out.getvalue().splitlines() == [
        f"{broken}: roles[2].sector (line 39): 'banking' is not one of: energy, finance, "
        "healthcare, transport, telecom, cloud_it, water, government, manufacturing",
        f"{broken}: stages[0].injects[1].release (line 99): 'later' is not a duration "
        "(seconds, or like 90s, 5m, 1h30m; at most 7 days)",
    ]


def test_it_loads_fixtures_idempotently(db):
    out, _ = run("load_fixtures")
    assert "rubric cascade-resilience: 24 criteria loaded" in out
    assert "scenario cloud-ransomware: imported v1 (cloud-ransomware.yaml)" in out
    counts = (Scenario.objects.count(), Role.objects.count(), Criterion.objects.count())
    assert counts[0] >= 3
    out, _ = run("load_fixtures")
    assert "scenario cloud-ransomware: unchanged, kept v1 (cloud-ransomware.yaml)" in out
    assert (Scenario.objects.count(), Role.objects.count(), Criterion.objects.count()) == counts
    assert Rubric.objects.count() == 1


def test_it_validates_criteria_against_the_shipped_rubric_file_when_none_is_loaded(db, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(CLOUD.read_text().replace("          - de-ae\n", "          - de-zz\n", 1))
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("validate_scenario", str(broken), stdout=out, stderr=StringIO())
    assert out.getvalue().splitlines() == [
        f"{broken}: stages[0].injects[0].criteria[0] (line 85): unknown criterion 'de-zz'"
    ]


def test_it_refuses_a_rubric_neither_loaded_nor_shipped_as_the_import_does(db, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(CLOUD.read_text().replace("rubric: cascade-resilience", "rubric: elsewhere"))
    with pytest.raises(SystemExit):
        run("validate_scenario", str(other))
    with pytest.raises(CommandError):
        run("import_scenario", str(other))


def test_it_loads_a_changed_fixture_as_the_next_version(rubric):
    text = CLOUD.read_text()
    first, created = import_if_changed(text)
    assert created
    same, created = import_if_changed(text)
    assert (same, created) == (first, False)
    changed, created = import_if_changed(text.replace("duration: 20m", "duration: 25m", 1))
    assert created
    assert (changed.version, changed.previous_version) == (2, first)
    assert Scenario.objects.filter(key="cloud-ransomware").count() == 2
