"""Exports: PDF, XLSX, CSV and JSON of a played exercise, read back; the export task."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from scoring.access import ReportAccess
from scoring.exports import csv as csv_export
from scoring.exports import json as json_export
from scoring.exports import pdf, xlsx
from scoring.models import ReportExport
from scoring.report import build_report
from scoring.services import export_run, report_compute
from tests import factories
from tests.scoring.plays import leak_after_the_bank_decided


@pytest.fixture
def played(db, alice):
    exercise, teams = factories.make_played_exercise(facilitator=alice)
    leak_after_the_bank_decided(exercise)
    report_compute(exercise=exercise)
    return exercise, teams


@pytest.fixture
def report(played):
    exercise, _ = played
    return build_report(ReportAccess(exercise, "facilitator"))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_it_writes_a_pdf_with_teams_criteria_and_charts(report, played):
    _, teams = played
    reader = PdfReader(io.BytesIO(pdf.render(report)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "After-action report" in text
    for team in teams.values():
        assert team.organization.name in text
    for title in ("Detect", "Respond", "Info Sharing", "Dependency Awareness"):
        assert title in text
    assert "Improvement plan" in text
    assert "Cascade chains" in text
    assert "Discussion, relays and requests for information" in text  # the sharing metrics
    assert "warnings by a coordinating body" in text


def test_it_writes_a_workbook_with_five_sheets(report, played):
    _, teams = played
    book = load_workbook(io.BytesIO(xlsx.render(report)))
    assert book.sheetnames == ["Scores", "Gaps", "Decisions", "Improvement Plan", "Sharing"]
    sharing = list(book["Sharing"].iter_rows(values_only=True))
    assert sharing[0][11] == "Mean time to warn dependents (s)"
    assert sharing[0][14] == "First report to community warning (s)"
    assert sharing[1][0] == "All teams"
    assert {row[0] for row in sharing[2:]} == {str(t) for t in teams.values()}
    scores = list(book["Scores"].iter_rows(values_only=True))
    assert scores[0][:4] == ("Team", "Organization", "Sector", "Detect")
    by_org = {row[1]: row for row in scores[1:]}
    assert by_org[teams["cloud"].organization.name][4] == 25.0  # respond
    gaps = list(book["Gaps"].iter_rows(values_only=True))
    assert {"Cascade gap", "Systemic gap", "Team gap"} <= {row[0] for row in gaps[1:]}
    decisions = list(book["Decisions"].iter_rows(values_only=True))
    assert len(decisions) == 4
    plan = list(book["Improvement Plan"].iter_rows(values_only=True))
    assert plan[0][5] == "Primary responsible organization"
    assert len(plan) > 1


def test_it_writes_a_zip_of_csvs(report):
    archive = zipfile.ZipFile(io.BytesIO(csv_export.render(report)))
    assert sorted(archive.namelist()) == [
        "decisions.csv",
        "gaps.csv",
        "improvement-plan.csv",
        "scores.csv",
        "sharing.csv",
    ]
    rows = list(csv.reader(io.StringIO(archive.read("scores.csv").decode())))
    assert rows[-1][0] == "Mean of all teams"


def test_it_writes_json_with_the_documented_keys(report, played):
    _, teams = played
    doc = json.loads(json_export.render(report))
    assert tuple(doc) == json_export.TOP_LEVEL_KEYS
    assert doc["schema_version"] == "1"
    assert len(doc["scores"]) == 12
    assert {s["team"] for s in doc["scores"]} == {t.code for t in teams.values()}
    cascade = next(g for g in doc["gaps"] if g["kind"] == "cascade")
    assert cascade["team"] == teams["cloud"].code
    assert cascade["evidence"]["dependents"]
    assert doc["collaboration"]["uninformed_decisions"] == 1
    assert {"relays", "compliance", "rfis_asked", "seconds_to_community_warning"} <= set(
        doc["sharing"]
    )
    assert len(doc["sharing"]["teams"]) == len(teams)
    assert {i["status"] for i in doc["improvement_plan"]} == {"open"}


def test_it_runs_an_export_task_to_done(played, alice):
    exercise, _ = played
    export = ReportExport.objects.create(exercise=exercise, format="xlsx", requested_by=alice)
    export_run(export_id=export.id)
    export.refresh_from_db()
    assert (export.status, export.progress) == ("done", 100)
    assert export.file.name.endswith(".xlsx")
    assert export.finished_at is not None


def test_it_marks_a_forbidden_export_failed(played, bob):
    exercise, teams = played
    factories.add_player(exercise, teams["bank"], bob)
    export = ReportExport.objects.create(exercise=exercise, format="json", requested_by=bob)
    export_run(export_id=export.id)
    export.refresh_from_db()
    assert export.status == "failed"
    assert "may no longer export" in export.error
    assert not export.file


def test_it_exports_through_the_page_and_downloads(
    client, alice, played, django_capture_on_commit_callbacks, monkeypatch
):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)  # no worker in tests
    exercise, _ = played
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("scoring:export-create", args=[exercise.code]),
            {"format": "json"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    export = ReportExport.objects.get(exercise=exercise)
    assert 'hx-trigger="every 1s"' in response.content.decode()  # queued when rendered
    status = client.get(reverse("scoring:export-status", args=[exercise.code, export.code]))
    assert "Download" in status.content.decode()
    assert "every 1s" not in status.content.decode()
    download = client.get(reverse("scoring:export-download", args=[exercise.code, export.code]))
    assert download.status_code == 200
    assert json.loads(b"".join(download.streaming_content))["exercise"]["code"] == exercise.code


def test_it_keeps_exports_from_players_and_outsiders(client, bob, mallory, played, alice):
    exercise, teams = played
    export = ReportExport.objects.create(exercise=exercise, format="json", requested_by=alice)
    export_run(export_id=export.id)
    factories.add_player(exercise, teams["bank"], bob)
    url = reverse("scoring:export-download", args=[exercise.code, export.code])
    client.force_login(bob)  # may export his team's debrief, not read another's export
    assert client.get(url).status_code == 404
    create = reverse("scoring:export-create", args=[exercise.code])
    assert client.post(create, {"format": "json"}).status_code == 403
    client.force_login(mallory)
    assert client.get(url).status_code == 404


def test_it_exports_a_shipped_scenarios_completed_run(db, alice):
    from scenarios.formats.fixtures import load_fixtures
    from scenarios.models import Scenario

    list(load_fixtures())
    scenario = Scenario.objects.get(key="cloud-ransomware", status="published")
    exercise, teams = factories.make_played_from_scenario(scenario, facilitator=alice)
    result = report_compute(exercise=exercise)
    assert result.gaps
    assert any(s.value is not None for s in result.scores if s.criterion_key == "info-sharing")
    report = build_report(ReportAccess(exercise, "coordinator"))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.render(report))).pages)
    for team in teams:
        assert team.organization.name in text
    assert "Information sharing" in text
    assert scenario.title in text
    book = load_workbook(io.BytesIO(xlsx.render(report)))
    rows = list(book["Scores"].iter_rows(values_only=True))
    assert len(rows) == len(teams) + 2
    assert "Information sharing" in rows[0]
    assert len(list(book["Decisions"].iter_rows())) == exercise.decisions.count() + 1


def test_it_documents_every_json_key():
    import re
    from pathlib import Path

    from django.conf import settings

    doc = (Path(settings.BASE_DIR) / "docs" / "scoring.md").read_text(encoding="utf-8")
    section = doc.split("### JSON export", 1)[1].split("\n## ", 1)[0]
    documented = tuple(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert documented == json_export.TOP_LEVEL_KEYS
    assert f"schema version {json_export.SCHEMA_VERSION}" in section.splitlines()[0]
