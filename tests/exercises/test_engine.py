"""The live engine: lifecycle, events, decisions, shares, observations, authority."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from accounts.models import AuditEntry
from exercises import engine, events, queries, states
from exercises.engine import EngineError
from exercises.models import (
    Decision,
    DecisionRevision,
    Event,
    Exercise,
    InjectRelease,
    Participant,
    Share,
)
from scenarios.models import Inject, Prompt, Stage
from tests import factories
from tests.event_schemas import stored_event_errors

pytestmark = pytest.mark.usefixtures("scheduled_sweeps")


@pytest.fixture(autouse=True)
def _every_event_matches_its_payload_type(db):
    """After each engine test: every event it emitted matches its kind's TypedDict."""
    yield
    assert stored_event_errors() == []


@pytest.fixture
def live(alice, bob, carol, org_a, org_b):
    """An exercise in the lobby: cloud (bob), hospital (carol), bank (dave)."""
    return factories.make_three_team_exercise(
        facilitator=alice,
        cloud_player=bob,
        hospital_player=carol,
        cloud_org=org_a,
        hospital_org=org_b,
    )


def kinds(exercise):
    return list(Event.objects.filter(exercise=exercise).values_list("kind", flat=True))


def started(live, alice, django_capture_on_commit_callbacks):
    exercise = live[0]
    with django_capture_on_commit_callbacks(execute=True):
        engine.exercise_start(exercise=exercise, actor=alice)
    return exercise


def prompt_of(exercise):
    return Prompt.objects.get(scenario=exercise.scenario, key="first-move")


def option(exercise, key):
    return prompt_of(exercise).options.get(key=key)


def test_it_creates_an_exercise_with_its_creator_as_facilitator(alice):
    scenario = factories.make_scenario()
    exercise = engine.exercise_create(scenario=scenario, name="Winter drill", created_by=alice)
    assert exercise.status == Exercise.Status.LOBBY
    assert exercise.participants.get().kind == Participant.Kind.FACILITATOR
    assert AuditEntry.objects.filter(action="exercise.create", exercise_code=exercise.code).exists()


def test_it_refuses_to_run_a_draft_scenario(alice):
    with pytest.raises(EngineError, match="published"):
        engine.exercise_create(
            scenario=factories.make_scenario(published=False), name="x", created_by=alice
        )


def test_it_starts_into_the_start_stage_with_gap_free_events(
    live, alice, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    assert exercise.status == Exercise.Status.RUNNING
    assert exercise.current_stage.key == "start"
    # Start, briefing, the timed SIEM alert at offset 0, then the prompt opening at 0.
    assert kinds(exercise) == [
        "exercise.started",
        "stage.entered",
        "inject.released",
        "prompt.opened",
    ]
    seqs = list(Event.objects.filter(exercise=exercise).values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4]
    assert exercise.last_seq == 4


def test_it_sends_a_role_inject_only_to_that_role(live, alice, django_capture_on_commit_callbacks):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud = live[1]
    event = Event.objects.get(exercise=exercise, kind="inject.released")
    assert event.visibility == Event.Visibility.SOME
    assert event.team_ids == [cloud.pk]


def test_it_releases_a_manual_inject_once(live, alice, django_capture_on_commit_callbacks):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    news = Inject.objects.get(scenario=exercise.scenario, key="news")
    first = engine.inject_release(exercise=exercise, inject=news, actor=alice)
    again = engine.inject_release(exercise=exercise, inject=news, actor=alice)
    assert first is not None
    assert again is None
    assert InjectRelease.objects.filter(exercise=exercise, inject=news).count() == 1
    # A CLEAR inject to every team is visible to observers too.
    assert first.event.visibility == Event.Visibility.ALL


def test_it_publishes_each_event_to_its_audience_groups_after_commit(
    live, alice, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("exercises.broadcast._deliver", sent.extend)
    exercise, cloud = live[0], live[1]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        engine.exercise_start(exercise=exercise, actor=alice)
    assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    siem = [msg for group, msg in sent if msg["seq"] == 3]
    groups = [group for group, msg in sent if msg["seq"] == 3]
    assert groups == [
        f"exercise-{exercise.pk}-team-{cloud.pk}",
        f"exercise-{exercise.pk}-evaluators",
        f"exercise-{exercise.pk}-control",
    ]
    assert all(msg["html"].startswith("<!--seq:3-->") for msg in siem)


def test_it_refuses_facilitator_actions_from_a_player(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = live[0]
    with pytest.raises(EngineError, match="facilitator"):
        engine.exercise_start(exercise=exercise, actor=bob)
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    news = Inject.objects.get(scenario=exercise.scenario, key="news")
    for call in (
        lambda: engine.exercise_pause(exercise=exercise, actor=bob),
        lambda: engine.exercise_advance(exercise=exercise, actor=bob),
        lambda: engine.exercise_end(exercise=exercise, actor=bob),
        lambda: engine.inject_release(exercise=exercise, inject=news, actor=bob),
        lambda: engine.prompt_close(exercise=exercise, prompt=prompt_of(exercise), actor=bob),
    ):
        with pytest.raises(EngineError, match="facilitator"):
            call()
    assert exercise.status == Exercise.Status.RUNNING


def test_it_keeps_the_clock_still_while_paused(live, alice, django_capture_on_commit_callbacks):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    epoch = exercise.epoch
    engine.exercise_pause(exercise=exercise, actor=alice)
    frozen = engine.exercise_clock(exercise)
    assert engine.exercise_clock(exercise) == frozen
    assert exercise.epoch == epoch + 1
    engine.exercise_resume(exercise=exercise, actor=alice)
    assert exercise.epoch == epoch + 2
    assert engine.exercise_clock(exercise) >= frozen
    with pytest.raises(EngineError, match="resume"):
        engine.exercise_resume(exercise=exercise, actor=alice)


def test_it_accepts_a_decision_and_keeps_every_revision(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, prompt = live[1], prompt_of(exercise)
    first = engine.decision_submit(
        exercise=exercise,
        team=cloud,
        prompt=prompt,
        author=bob,
        client_token="t1",
        option=option(exercise, "wait"),
    )
    second = engine.decision_submit(
        exercise=exercise,
        team=cloud,
        prompt=prompt,
        author=bob,
        client_token="t2",
        option=option(exercise, "isolate"),
        rationale="Contain first.",
    )
    assert first.pk == second.pk
    assert second.revision == 2
    assert second.option.key == "isolate"
    assert second.latency_seconds >= 0
    assert [r.option.key for r in DecisionRevision.objects.filter(decision=second)] == [
        "wait",
        "isolate",
    ]
    events = Event.objects.filter(exercise=exercise, kind="decision.submitted")
    assert [e.team_ids for e in events] == [[cloud.pk], [cloud.pk]]


def test_it_treats_a_repeated_client_token_as_the_same_submission(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, prompt = live[1], prompt_of(exercise)
    args = {"exercise": exercise, "team": cloud, "prompt": prompt, "author": bob}
    args["client_token"] = "same"
    engine.decision_submit(**args, option=option(exercise, "isolate"))
    last_seq = Exercise.objects.get(pk=exercise.pk).last_seq
    again = engine.decision_submit(**args, option=option(exercise, "pay"))
    assert again.option.key == "isolate"
    assert again.revision == 1
    assert Exercise.objects.get(pk=exercise.pk).last_seq == last_seq


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"option": "foreign"}, "does not belong"),
        ({"option": None}, "Choose one"),
        ({"author": "carol"}, "players"),
    ],
)
def test_it_rejects_invalid_decisions(
    live, alice, bob, carol, django_capture_on_commit_callbacks, change, message
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, prompt = live[1], prompt_of(exercise)
    foreign = Prompt.objects.create(
        scenario=exercise.scenario, stage=prompt.stage, key="other", question="Other?"
    ).options.create(key="x", label="X")
    chosen = {"foreign": foreign, None: None}.get(change.get("option"), option(exercise, "isolate"))
    author = carol if change.get("author") == "carol" else bob
    with pytest.raises(EngineError, match=message):
        engine.decision_submit(
            exercise=exercise,
            team=cloud,
            prompt=prompt,
            author=author,
            client_token="t",
            option=chosen,
        )
    assert not Decision.objects.exists()


def test_it_refuses_decisions_after_the_prompt_closes(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    engine.prompt_close(exercise=exercise, prompt=prompt_of(exercise), actor=alice)
    with pytest.raises(EngineError, match="not open"):
        engine.decision_submit(
            exercise=exercise,
            team=live[1],
            prompt=prompt_of(exercise),
            author=bob,
            client_token="t",
            option=option(exercise, "isolate"),
        )


def test_a_decision_reads_its_window_again_only_if_a_prompt_closed_since(
    live, alice, bob, django_capture_on_commit_callbacks, monkeypatch
):
    """Under the exercise lock, the window is read again only if a prompt.closed event
    came after the caller's copy of the exercise (``events.window_closed_since``)."""
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    prompt, cloud = prompt_of(exercise), live[1]
    reads = []
    real_still_open = queries.window_still_open
    monkeypatch.setattr(
        queries, "window_still_open", lambda pk: reads.append(pk) or real_still_open(pk)
    )
    decide = {"team": cloud, "prompt": prompt, "author": bob, "option": option(exercise, "pay")}
    engine.decision_submit(exercise=exercise, client_token="t1", **decide)
    assert reads == []  # nothing closed since the exercise was read
    # A copy read before the prompt closed, and the window as it was then: the close
    # came between the window read and the lock.
    stale = Exercise.objects.get(pk=exercise.pk)
    open_window = queries.prompt_window(
        exercise_id=exercise.pk,
        prompt_id=prompt.pk,
        user_id=bob.pk,
        team_id=cloud.pk,
        option_id=decide["option"].pk,
    )
    engine.prompt_close(exercise=exercise, prompt=prompt, actor=alice)
    monkeypatch.setattr(queries, "prompt_window", lambda **_: open_window)
    with pytest.raises(EngineError, match="not open"):
        engine.decision_submit(exercise=stale, client_token="t2", **decide)
    assert reads == [open_window.pk]
    assert Decision.objects.get(team=cloud).revision == 1
    marks = Exercise.objects.get(pk=exercise.pk).visibility_marks
    assert marks["closed"] == Event.objects.get(exercise=exercise, kind="prompt.closed").seq


def answer_window(exercise, team, user):
    return queries.answer_window(exercise, "first-move", user_id=user.pk, team_id=team.pk)


def test_a_decision_takes_the_callers_window_and_cascades_by_its_options(
    live, alice, bob, django_capture_on_commit_callbacks, monkeypatch
):
    """A decide POST's window (``queries.answer_window``) spares the engine its own read:
    the option's consequences come from the window's options."""
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, hospital, bank = live[1], live[2], live[3]
    window = answer_window(exercise, cloud, bob)
    monkeypatch.setattr(queries, "prompt_window", lambda **_: pytest.fail("read again"))
    pay = next(o for o in window.options if o.key == "pay")
    engine.decision_submit(
        exercise=exercise,
        team=cloud,
        prompt=window.prompt,
        author=bob,
        client_token="t",
        option=pay,
        window=window,
    )
    assert Decision.objects.get(team=cloud).option == pay
    release = InjectRelease.objects.get(exercise=exercise, inject__key="leak")
    assert release.team_ids == sorted([hospital.pk, bank.pk])


def test_a_callers_window_is_held_to_the_same_rules(
    live, alice, bob, carol, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud = live[1]
    decide = {"exercise": exercise, "team": cloud, "author": bob, "client_token": "t"}
    window = answer_window(exercise, cloud, bob)
    other = factories.make_scenario().prompts.first()
    with pytest.raises(EngineError, match="not this prompt's"):
        engine.decision_submit(**decide, prompt=other, option=None, window=window)
    foreign = Prompt.objects.exclude(pk=window.prompt_id).exclude(options=None).first()
    with pytest.raises(EngineError, match="does not belong"):
        engine.decision_submit(
            **decide, prompt=window.prompt, option=foreign.options.first(), window=window
        )
    not_seated = answer_window(exercise, cloud, carol)  # carol plays for the hospital
    with pytest.raises(EngineError, match="team's players"):
        engine.decision_submit(
            **{**decide, "author": carol},
            prompt=window.prompt,
            option=window.options[0],
            window=not_seated,
        )
    assert not Decision.objects.exists()


def test_a_retried_decision_reads_the_window_again(
    live, alice, bob, django_capture_on_commit_callbacks
):
    """The exercise moved (paused, resumed) after the caller read it, and the prompt closed
    meanwhile: the retry brings the exercise up to date, so the caller's window (read
    before the close) no longer stands for it and is read again."""
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud = live[1]
    stale = Exercise.objects.get(pk=exercise.pk)
    window = answer_window(stale, cloud, bob)
    engine.exercise_pause(exercise=exercise, actor=alice)
    engine.prompt_close(exercise=exercise, prompt=window.prompt, actor=alice)
    engine.exercise_resume(exercise=exercise, actor=alice)
    with pytest.raises(EngineError, match="not open"):
        engine.decision_submit(
            exercise=stale,
            team=cloud,
            prompt=window.prompt,
            author=bob,
            client_token="t",
            option=window.options[0],
            window=window,
        )
    assert not Decision.objects.exists()


def test_it_cascades_a_consequence_to_the_choosers_dependents(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, hospital, bank = live[1], live[2], live[3]
    engine.decision_submit(
        exercise=exercise,
        team=cloud,
        prompt=prompt_of(exercise),
        author=bob,
        client_token="t",
        option=option(exercise, "pay"),
    )
    release = InjectRelease.objects.get(exercise=exercise, inject__key="leak")
    assert release.release_key.startswith("csq:")
    assert release.team_ids == sorted([hospital.pk, bank.pk])
    assert release.event.visibility == Event.Visibility.SOME
    # Revising to the same option again does not release it twice.
    engine.decision_submit(
        exercise=exercise,
        team=cloud,
        prompt=prompt_of(exercise),
        author=bob,
        client_token="t2",
        option=option(exercise, "pay"),
    )
    assert InjectRelease.objects.filter(exercise=exercise, inject__key="leak").count() == 1


def test_it_branches_on_the_decisions_and_ends_after_a_terminal_stage(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    engine.decision_submit(
        exercise=exercise,
        team=live[1],
        prompt=prompt_of(exercise),
        author=bob,
        client_token="t",
        option=option(exercise, "isolate"),
    )
    assert engine.exercise_advance(exercise=exercise, actor=alice).key == "contained"
    assert "prompt.closed" in kinds(exercise)
    assert engine.exercise_advance(exercise=exercise, actor=alice).key == "end"
    assert exercise.status == Exercise.Status.RUNNING
    assert engine.exercise_advance(exercise=exercise, actor=alice) is None
    assert exercise.status == Exercise.Status.ENDED
    assert kinds(exercise)[-1] == "exercise.ended"


def test_it_takes_the_default_branch_or_the_facilitators_override(
    live, alice, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    end = Stage.objects.get(scenario=exercise.scenario, key="end")
    assert engine.exercise_advance(exercise=exercise, actor=alice, to_stage=end).key == "end"
    assert AuditEntry.objects.filter(action="stage.override", exercise_code=exercise.code).exists()


def test_it_enforces_tlp_on_shares(live, alice, bob, django_capture_on_commit_callbacks):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, hospital, bank = live[1], live[2], live[3]
    red = engine.share_create(
        exercise=exercise,
        from_team=cloud,
        author=bob,
        tlp="RED",
        title="IOC",
        body="Hash abc",
        recipients=[hospital],
        client_token="s1",
    )
    event = Event.objects.get(exercise=exercise, kind="share.created")
    assert event.visibility == Event.Visibility.SOME
    assert sorted(event.team_ids) == sorted([cloud.pk, hospital.pk])
    assert bank.pk not in event.team_ids
    again = engine.share_create(
        exercise=exercise,
        from_team=cloud,
        author=bob,
        tlp="RED",
        title="IOC",
        body="Hash abc",
        recipients=[hospital],
        client_token="s1",
    )
    assert again.pk == red.pk
    assert Share.objects.count() == 1
    with pytest.raises(EngineError, match="recipient"):
        engine.share_create(
            exercise=exercise,
            from_team=cloud,
            author=bob,
            tlp="RED",
            title="x",
            body="y",
            recipients=[],
            client_token="s2",
        )


def test_it_records_observations_for_the_control_cell_only(
    live, alice, bob, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    criterion = exercise.scenario.rubric.criteria.get(key="respond")
    evaluator = factories.add_participant(exercise, "evaluator").user
    engine.observation_record(
        exercise=exercise, team=live[1], criterion=criterion, evaluator=evaluator, rating="S"
    )
    assert Event.objects.get(kind="observation.recorded").visibility == Event.Visibility.CONTROL
    with pytest.raises(EngineError, match="evaluators"):
        engine.observation_record(
            exercise=exercise, team=live[1], criterion=criterion, evaluator=bob, rating="P"
        )


def test_it_lets_an_organization_member_join_by_code(live, alice, org_a):
    _exercise, cloud = live[0], live[1]
    newcomer = factories.make_user("erin")
    with pytest.raises(EngineError, match="Only members"):
        engine.team_join(join_code=cloud.join_code, user=newcomer)
    factories.add_member(newcomer, org_a)
    seat = engine.team_join(join_code=cloud.join_code, user=newcomer)
    assert seat.team == cloud
    assert engine.team_join(join_code=cloud.join_code, user=newcomer).pk == seat.pk
    with pytest.raises(EngineError, match="not valid"):
        engine.team_join(join_code="nope", user=newcomer)


def test_it_saves_the_hotwash_for_the_control_cell(live, alice, django_capture_on_commit_callbacks):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    engine.exercise_end(exercise=exercise, actor=alice)
    engine.hotwash_save(exercise=exercise, actor=alice, notes="Share earlier.")
    assert Exercise.objects.get(pk=exercise.pk).hotwash_notes == "Share earlier."
    assert kinds(exercise)[-1] == "hotwash.saved"


def test_it_emits_every_kind_with_its_payload_type(
    live, alice, bob, carol, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, hospital = live[1], live[2]
    news = Inject.objects.get(scenario=exercise.scenario, key="news")
    engine.inject_release(exercise=exercise, inject=news, actor=alice)
    decide = {"exercise": exercise, "team": cloud, "prompt": prompt_of(exercise), "author": bob}
    engine.decision_submit(**decide, client_token="t", option=option(exercise, "pay"))
    engine.share_create(
        exercise=exercise,
        from_team=cloud,
        author=bob,
        tlp="AMBER",
        title="IOC",
        body="Hash abc",
        recipients=[hospital],
        client_token="s",
    )
    engine.message_post(exercise=exercise, team=cloud, author=bob, body="On it @nobody")
    red = engine.share_create(
        exercise=exercise,
        from_team=cloud,
        author=bob,
        tlp="RED",
        title="Keys",
        body="Rotated",
        recipients=[hospital],
        client_token="red",
    )
    relay = {"exercise": exercise, "recipients": [live[3]]}
    with pytest.raises(EngineError, match="named recipients only"):
        engine.share_relay(**relay, share=red, team=hospital, author=carol, client_token="r")
    amber = Share.objects.get(client_token="s")
    engine.share_relay(**relay, share=amber, team=cloud, author=bob, client_token="r2")
    engine.share_reply(
        exercise=exercise, share=amber, team=hospital, author=carol, body="Ok", client_token="y"
    )
    exercise.scenario.roles.create(key="isac", label="ISAC", sector="finance", coordinating=True)
    isac = factories.make_team(exercise, "isac")
    ivan = factories.add_player(exercise, isac).user
    to_isac = engine.share_create(
        exercise=exercise,
        from_team=cloud,
        author=bob,
        tlp="AMBER",
        title="To the ISAC",
        body="VPN",
        recipients=[isac],
        client_token="i",
    )
    engine.share_summarize(
        exercise=exercise,
        team=isac,
        author=ivan,
        reports=[to_isac],
        tlp="GREEN",
        title="Warning",
        body="Patch VPNs",
        client_token="w",
    )
    rfi = engine.rfi_ask(
        exercise=exercise,
        team=cloud,
        author=bob,
        question="Patched?",
        tlp="GREEN",
        to_team=None,
        client_token="q",
    )
    engine.rfi_answer(exercise=exercise, rfi=rfi, author=alice, answer="Yes")
    criterion = exercise.scenario.rubric.criteria.get(key="respond")
    engine.observation_record(
        exercise=exercise, team=cloud, criterion=criterion, evaluator=alice, rating="P"
    )
    engine.exercise_pause(exercise=exercise, actor=alice)
    engine.exercise_resume(exercise=exercise, actor=alice)
    engine.exercise_end(exercise=exercise, actor=alice)
    engine.hotwash_save(exercise=exercise, actor=alice, notes="Share earlier.")
    assert set(kinds(exercise)) == set(events.KINDS)
    assert stored_event_errors() == []
    cascade = Event.objects.filter(exercise=exercise, kind=events.INJECT_RELEASED)
    assert [e.payload["inject"] for e in cascade if e.payload["cascade"]] == ["leak"]


def test_it_refuses_a_payload_that_does_not_match_its_type():
    payload = {"prompt": "p", "question": 3, "surplus": 1}
    assert events.payload_errors(events.PROMPT_CLOSED, payload) == [
        "prompt.closed.surplus: unexpected",
        "prompt.closed.question: 3 is not str",
    ]
    assert events.payload_errors("no.such", {}) == ["unknown kind 'no.such'"]


def test_it_has_one_label_and_one_sentence_per_kind():
    assert events.event_label(events.EXERCISE_PAUSED) == "Exercise paused"
    decided = {"team_label": "Cloud", "option_label": "Isolate"}
    assert events.event_sentence(events.DECISION_SUBMITTED, decided) == "Cloud decided: Isolate"
    assert events.event_sentence("odd.kind", None) == "Odd kind"


def test_it_allows_each_action_only_in_the_statuses_of_the_one_table(live):
    exercise = live[0]
    assert exercise.can("start")
    assert not exercise.can("advance")
    exercise.status = Exercise.Status.PAUSED
    assert exercise.can("resume")
    assert not exercise.can("decide")
    template = Template("{% if exercise.can.advance %}advance{% endif %}")
    assert template.render(Context({"exercise": exercise})) == "advance"
    with pytest.raises(states.UnknownAction):
        exercise.can("fly")
    assert states.refusal("paused", "decide") == "Cannot decide while the exercise is Paused."
    assert states.allowing("decide") == ["running"]
    assert states.allowing("end") == ["paused", "running"]
    with pytest.raises(states.UnknownAction):
        states.allowing("fly")


def test_it_runs_timed_work_as_the_system_actor_and_refuses_a_missing_actor(
    live, alice, django_capture_on_commit_callbacks
):
    exercise = started(live, alice, django_capture_on_commit_callbacks)
    news = Inject.objects.get(scenario=exercise.scenario, key="news")
    with pytest.raises(TypeError):
        engine.inject_release(exercise=exercise, inject=news)  # actor= forgotten
    release = engine.inject_release(exercise=exercise, inject=news, actor=engine.SYSTEM)
    assert release.event.actor is None
    stored = InjectRelease.objects.get(pk=release.pk)
    event = release.event
    assert (stored.event_id, stored.clock_seconds) == (event.pk, event.clock_seconds)
    entry = AuditEntry.objects.get(action="inject.release")
    assert (entry.actor_label, entry.details) == ("system", {"release_key": release.release_key})
    # Released already: no event, no second entry.
    assert engine.inject_release(exercise=exercise, inject=news, actor=engine.SYSTEM) is None
    assert AuditEntry.objects.filter(action="inject.release").count() == 1


def test_every_verb_refuses_text_over_its_limit_whatever_the_entry_point(
    live, alice, bob, django_capture_on_commit_callbacks
):
    """Issue 13 #4: the engine checks the limits of config/limits.py itself, so a caller
    that skips the forms (a command, a task, a future API) cannot store a frame breaker."""
    from config.limits import TEXT_DOCUMENT, TEXT_NOTE, TEXT_SHARE, TEXT_TITLE

    exercise = started(live, alice, django_capture_on_commit_callbacks)
    cloud, hospital = live[1], live[2]
    share = {
        "exercise": exercise,
        "from_team": cloud,
        "author": bob,
        "tlp": "GREEN",
        "recipients": [hospital],
        "client_token": "s",
    }
    with pytest.raises(EngineError, match=f"message is longer than {TEXT_SHARE} characters"):
        engine.share_create(**share, title="IOC", body="x" * (TEXT_SHARE + 1))
    with pytest.raises(EngineError, match=f"title is longer than {TEXT_TITLE} characters"):
        engine.share_create(**share, title="x" * (TEXT_TITLE + 1), body="Hash")
    decide = {"exercise": exercise, "team": cloud, "prompt": prompt_of(exercise), "author": bob}
    with pytest.raises(EngineError, match=f"rationale is longer than {TEXT_NOTE}"):
        engine.decision_submit(
            **decide,
            client_token="t",
            option=option(exercise, "pay"),
            rationale="x" * (TEXT_NOTE + 1),
        )
    criterion = exercise.scenario.rubric.criteria.get(key="respond")
    with pytest.raises(EngineError, match=f"note is longer than {TEXT_NOTE}"):
        engine.observation_record(
            exercise=exercise,
            team=cloud,
            criterion=criterion,
            evaluator=alice,
            rating="S",
            note="x" * (TEXT_NOTE + 1),
        )
    engine.exercise_end(exercise=exercise, actor=alice)
    with pytest.raises(EngineError, match=f"notes are longer than {TEXT_DOCUMENT}"):
        engine.hotwash_save(exercise=exercise, actor=alice, notes="x" * (TEXT_DOCUMENT + 1))
    assert not Share.objects.exists()
    assert not Decision.objects.exists()
    assert Exercise.objects.get(pk=exercise.pk).hotwash_notes == ""
    # At the limit, all of them pass.
    engine.hotwash_save(exercise=exercise, actor=alice, notes="x" * TEXT_DOCUMENT)
