"""Scoring an exercise played through the live engine (the contract's real payloads):
computed when it ends, never by opening a page while it runs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry
from exercises import engine
from exercises.models import Event, Exercise, PromptWindow
from scenarios.models import Inject, Prompt
from scoring.models import Gap, ImprovementItem, ReportExport, Score
from scoring.report import Freshness, scores_freshness
from tests import factories


@pytest.fixture(autouse=True)
def no_scheduler(monkeypatch, settings):
    from config.celery import app

    settings.CASCADE_INPROCESS_SCHEDULER = False
    monkeypatch.setattr("exercises.scheduler.schedule_sweep", lambda **kwargs: True)
    # The end-of-run scoring task runs in the test, with or without a real broker.
    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.fixture
def running(alice, bob, carol, org_a, org_b, django_capture_on_commit_callbacks):
    """The small scenario played through the engine up to its end, still running.
    Returns (exercise, cloud, hospital, bank)."""
    exercise, cloud, hospital, bank, dave = factories.make_three_team_exercise(
        facilitator=alice,
        cloud_player=bob,
        hospital_player=carol,
        cloud_org=org_a,
        hospital_org=org_b,
    )
    with django_capture_on_commit_callbacks(execute=True):
        engine.exercise_start(exercise=exercise, actor=alice)
        siem = Inject.objects.get(scenario=exercise.scenario, key="siem-alert")
        engine.inject_release(exercise=exercise, inject=siem, actor=alice)
        prompt = Prompt.objects.get(scenario=exercise.scenario, key="first-move")
        if not PromptWindow.objects.filter(exercise=exercise, prompt=prompt).exists():
            engine.prompt_open(exercise=exercise, prompt=prompt, actor=alice)
        engine.share_create(
            exercise=exercise,
            from_team=cloud,
            author=bob,
            tlp="RED",
            title="Ransomware here",
            body="Expect outages.",
            recipients=[hospital],
            client_token="share-1",
            about_inject=siem,
        )
        for team, user, key in (
            (cloud, bob, "pay"),
            (hospital, carol, "isolate"),
            (bank, dave, "wait"),
        ):
            engine.decision_submit(
                exercise=exercise,
                team=team,
                prompt=prompt,
                author=user,
                client_token=f"t-{key}",
                option=prompt.options.get(key=key),
            )
        detect = exercise.scenario.rubric.criteria.get(key="detect")
        engine.observation_record(
            exercise=exercise, team=bank, criterion=detect, evaluator=alice, rating="U"
        )
    return exercise, cloud, hospital, bank


def test_it_scores_a_run_played_through_the_engine(
    alice, running, django_capture_on_commit_callbacks
):
    exercise, cloud, hospital, bank = running
    assert not Score.objects.filter(exercise=exercise).exists()
    with django_capture_on_commit_callbacks(execute=True):
        engine.exercise_end(exercise=exercise, actor=alice)
    # No explicit compute: the end's signal queued the task, which ran eagerly.
    assert scores_freshness(exercise) is Freshness.FRESH
    values = {
        (s.team.role.key, s.criterion.key): s.value
        for s in Score.objects.filter(exercise=exercise).select_related("team__role", "criterion")
    }
    assert (
        values[("hospital", "respond")] > values[("bank", "respond")] > values[("cloud", "respond")]
    )
    assert values[("cloud", "info-sharing")] is not None  # warned one of two dependents
    # the leak that the cloud's payment released reached the bank before it decided
    assert values[("bank", "dependency-awareness")] == 100.0
    assert values[("hospital", "dependency-awareness")] == 100.0
    cascade = Gap.objects.get(exercise=exercise, kind="cascade")
    assert cascade.team == cloud
    assert {d["team_id"] for d in cascade.evidence["dependents"]} == {hospital.id, bank.id}


def test_it_ends_the_run_even_when_scoring_fails_and_logs_why(
    alice, running, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    exercise, *_ = running

    def broken(**kwargs):
        raise RuntimeError("scoring broke")

    monkeypatch.setattr("scoring.services.report_ensure_fresh", broken)
    with django_capture_on_commit_callbacks(execute=True):
        engine.exercise_end(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.ENDED
    assert scores_freshness(exercise) is Freshness.MISSING
    assert "were not computed at its end" in caplog.text


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _rows() -> dict[str, int]:
    models = (Score, Gap, ImprovementItem, ReportExport, AuditEntry, Event)
    return {model.__name__: model.objects.count() for model in models}


def _get_pages(client, urls: list[str]) -> str:
    """GET every url (each must answer 200) capturing the SQL; fail on any write."""
    before = _rows()
    with CaptureQueriesContext(connection) as queries:
        pages = [client.get(url) for url in urls]
    assert [page.status_code for page in pages] == [200] * len(urls)
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []
    assert _rows() == before
    return "".join(page.content.decode() for page in pages)


def test_it_writes_nothing_when_report_pages_are_read_during_the_run(
    client, alice, bob, running, django_capture_on_commit_callbacks
):
    exercise, cloud, _, _ = running
    assert exercise.status == Exercise.Status.RUNNING
    # Another run of the scenario, ended, never scored: the compare page once scored it.
    other, _ = factories.make_played_from_scenario(exercise.scenario, facilitator=alice)
    report = reverse("scoring:report", args=[exercise.code])
    compare = reverse("scoring:compare") + f"?series=scenario:{exercise.scenario.key}"
    urls = [reverse("scoring:list"), report, compare, reverse("scoring:plan")]
    for user in (bob, alice):  # a player, then the facilitator (who may compare both)
        client.force_login(user)
        html = _get_pages(client, urls)
        assert "Scores are computed when the exercise ends" in html
    assert f"Not up to date: {exercise.name}, {other.name}" in html

    # Scores so far, by an explicit action; then the run moves on.
    client.force_login(alice)
    assert client.post(reverse("scoring:recompute", args=[exercise.code])).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        engine.observation_record(
            exercise=exercise,
            team=cloud,
            criterion=exercise.scenario.rubric.criteria.get(key="respond"),
            evaluator=alice,
            rating="S",
        )
    item = ImprovementItem.objects.filter(exercise=exercise).first()
    item_urls = [
        reverse("scoring:item-row", args=[exercise.code, item.code]),
        reverse("scoring:item-edit", args=[exercise.code, item.code]),
    ]
    html = _get_pages(client, [report, compare, *item_urls])
    assert "computed before the latest events" in html
    assert "Recompute scores" in html
