"""A player's team debrief as a PDF: their scores with evidence, their decisions, what
reached them — and nothing of another team's — from the report page and from
``manage.py export_report --team``, under the one rule of scoring/access.py."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from pypdf import PdfReader

from scoring.models import ReportExport
from scoring.services import report_compute
from tests import factories

MAX_PAGES = 8


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def played(alice, carol):
    """The played exercise with Carol playing for the hospital."""
    exercise, teams = factories.make_played_exercise(facilitator=alice)
    factories.add_player(exercise, teams["hospital"], carol)
    report_compute(exercise=exercise)
    return exercise, teams


def _pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def _assert_hospital_debrief(pages: list[str], teams) -> None:
    assert 1 <= len(pages) <= MAX_PAGES
    assert all(len(text.split()) >= 20 for text in pages)  # no blank or caption-only page
    text = "\n".join(pages)
    hospital = teams["hospital"]
    assert f"Team debrief: {hospital}" in text
    assert "hospital decided isolate" in text  # their decision
    assert "What made" in text  # their scores with evidence
    assert "Your data is on a leak site" in text  # what reached them: the cascade
    for other in ("cloud decided pay", "bank decided wait"):
        assert other not in text  # another team's decisions
    assert "bank detection" not in text  # an evaluator's note on another team
    assert "Hot-wash notes" not in text
    assert "What cascaded" not in text  # only the cloud's decision released anything
    assert "Audit log" not in text


def test_a_player_exports_their_teams_debrief_from_the_page(
    client, carol, played, django_capture_on_commit_callbacks, monkeypatch
):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)  # no Celery worker in tests
    exercise, teams = played
    client.force_login(carol)
    page = client.get(reverse("scoring:report", args=[exercise.code])).content.decode()
    assert "Team debrief (PDF)" in page
    assert 'value="json"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("scoring:export-create", args=[exercise.code]),
            {"format": "pdf"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    export = ReportExport.objects.get(exercise=exercise, requested_by=carol)
    assert export.status == "done"
    download = client.get(reverse("scoring:export-download", args=[exercise.code, export.code]))
    _assert_hospital_debrief(_pages(b"".join(download.streaming_content)), teams)


def test_a_player_exports_no_other_format_and_no_one_elses_export(
    client, carol, bob, alice, played
):
    exercise, teams = played
    factories.add_player(exercise, teams["bank"], bob)
    create = reverse("scoring:export-create", args=[exercise.code])
    client.force_login(carol)
    for fmt in ("json", "xlsx", "csv"):
        assert client.post(create, {"format": fmt}).status_code == 403
    client.post(create, {"format": "pdf"})
    mine = ReportExport.objects.get(requested_by=carol)
    client.force_login(bob)  # another team's player
    url = reverse("scoring:export-download", args=[exercise.code, mine.code])
    assert client.get(url).status_code == 404


def test_an_observer_exports_nothing(client, played):
    exercise, _ = played
    observer = factories.add_participant(exercise, "observer").user
    client.force_login(observer)
    create = reverse("scoring:export-create", args=[exercise.code])
    assert client.post(create, {"format": "pdf"}).status_code == 403
    page = client.get(reverse("scoring:report", args=[exercise.code])).content.decode()
    assert "Export as" not in page


def test_export_report_writes_a_teams_debrief(played, tmp_path):
    exercise, teams = played
    out = tmp_path / "debrief.pdf"
    call_command(
        "export_report",
        exercise.code,
        "--format",
        "pdf",
        "--team",
        teams["hospital"].code,
        "-o",
        str(out),
    )
    _assert_hospital_debrief(_pages(out.read_bytes()), teams)


def test_export_report_refuses_a_debrief_in_another_format_or_of_no_team(played, tmp_path):
    exercise, teams = played
    out = str(tmp_path / "x")
    with pytest.raises(CommandError, match="debrief is written as pdf"):
        call_command(
            "export_report",
            exercise.code,
            "--format",
            "json",
            "--team",
            teams["bank"].code,
            "-o",
            out,
        )
    with pytest.raises(CommandError, match="No team nope"):
        call_command("export_report", exercise.code, "--format", "pdf", "--team", "nope", "-o", out)
