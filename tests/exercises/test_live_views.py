"""Live pages: access for every page, and that every POST drives the engine."""

from __future__ import annotations

import re

from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape

from exercises import engine, events
from exercises.fragments import render_event
from exercises.live_state import FEED_LIMIT, feed_for
from exercises.models import (
    Decision,
    DecisionRevision,
    Exercise,
    InjectRelease,
    Observation,
    Participant,
    Share,
    Team,
)
from exercises.visibility import team_perspective
from scenarios.models import Prompt
from tests import factories

PAGES = ["exercise", "lobby", "control", "room", "evaluate", "observe"]
ACTIONS = ["start", "pause", "resume", "advance", "end", "hotwash", "team_add"]


def url(name: str, exercise: Exercise, *args) -> str:
    return reverse(f"exercises:{name}", args=[exercise.code, *args])


def team(exercise: Exercise, role_key: str) -> Team:
    return exercise.teams.get(role__key=role_key)


def htmx(client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


# ---------------------------------------------------------------- access


# One test per rule, looping over pages: each persona costs a password hash to set up.


def test_it_redirects_anonymous_visitors_to_login(client, exercise):
    for page in PAGES:
        response = client.get(url(page, exercise))
        assert response.status_code == 302, page
        assert reverse("accounts:login") in response["Location"]


def test_it_hides_every_page_and_action_from_outsiders(client, exercise, mallory):
    client.force_login(mallory)
    for page in PAGES:
        assert client.get(url(page, exercise)).status_code == 404, page
    for action in ACTIONS:
        assert client.post(url(action, exercise)).status_code == 404, action


def test_it_refuses_control_pages_and_actions_to_players(client, exercise, bob):
    client.force_login(bob)
    for page in ["lobby", "control", "evaluate", "observe"]:
        assert client.get(url(page, exercise)).status_code == 403, page
    for action in ACTIONS:
        assert client.post(url(action, exercise)).status_code == 403, action
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.LOBBY


def test_it_refuses_the_team_room_to_the_facilitator(client, exercise, alice):
    client.force_login(alice)
    assert client.get(url("room", exercise)).status_code == 403


def test_it_refuses_player_actions_to_outsiders(client, running, mallory):
    client.force_login(mallory)
    assert client.post(url("share", running)).status_code == 404
    assert client.post(url("decide", running, "first-move")).status_code == 404


def test_it_sends_each_participant_to_their_own_page(client, exercise, alice, bob):
    client.force_login(bob)
    assert client.get(url("exercise", exercise))["Location"] == url("room", exercise)
    client.force_login(alice)
    assert client.get(url("exercise", exercise))["Location"] == url("lobby", exercise)


# ---------------------------------------------------------------- setting up


def test_it_lets_a_facilitator_create_an_exercise_and_seat_teams(client, alice, org_a):
    alice.user_permissions.add(Permission.objects.get(codename="run_exercise"))
    scenario = factories.make_scenario()
    client.force_login(alice)
    response = client.post(
        reverse("exercises:exercise_new"), {"scenario": scenario.code, "name": "Spring drill"}
    )
    exercise = Exercise.objects.get(name="Spring drill")
    assert response["Location"] == url("lobby", exercise)
    assert exercise.participants.get(user=alice).kind == Participant.Kind.FACILITATOR

    response = client.post(url("team_add", exercise), {"role": "cloud", "organization": org_a.code})
    assert response.status_code == 302
    assert exercise.teams.get().organization == org_a
    lobby = client.get(url("lobby", exercise)).content.decode()
    assert exercise.teams.get().join_code in lobby


def test_it_refuses_exercise_creation_without_the_permission(client, mallory):
    client.force_login(mallory)
    assert client.get(reverse("exercises:exercise_new")).status_code == 403


def test_it_adds_an_evaluator_by_username(client, exercise, alice):
    eve = factories.make_user("eve")
    client.force_login(alice)
    client.post(url("participant_add", exercise), {"username": "eve", "kind": "evaluator"})
    assert exercise.participants.get(user=eve).kind == Participant.Kind.EVALUATOR


def test_it_lets_an_organization_member_join_its_team(client, alice, org_b):
    ex = factories.make_exercise(facilitator=alice)
    hospital = factories.make_team(ex, "hospital", org_b)
    dana = factories.make_user("dana")
    factories.add_member(dana, org_b)
    client.force_login(dana)
    response = client.post(reverse("exercises:join", args=[hospital.join_code]))
    assert response["Location"] == url("room", ex)
    assert ex.participants.get(user=dana).team == hospital


def test_it_explains_to_a_non_member_why_they_cannot_join(client, exercise, mallory):
    client.force_login(mallory)
    join = reverse("exercises:join", args=[team(exercise, "cloud").join_code])
    assert "not one" in client.get(join).content.decode()
    response = client.post(join)
    assert response.status_code == 400
    assert "Only members of" in response.content.decode()
    assert not exercise.participants.filter(user=mallory).exists()


# ---------------------------------------------------------------- running


def test_it_starts_the_exercise_and_sends_htmx_to_the_console(client, exercise, alice):
    client.force_login(alice)
    response = htmx(client, url("start", exercise))
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.RUNNING
    assert exercise.current_stage.key == "start"
    assert response["HX-Redirect"] == url("control", exercise)


def test_it_shows_the_console_with_stage_injects_and_prompts(client, running, alice):
    client.force_login(alice)
    page = client.get(url("control", running)).content.decode()
    assert "Ransomware detected" in page
    assert "News: outage" in page  # the manual inject, releasable
    assert "What do you do first?" in page
    assert f'data-last-seq="{running.last_seq}"' in page
    assert f'ws-connect="/ws/exercises/{running.code}/"' in page


def test_it_releases_a_manual_inject_once(client, running, alice):
    client.force_login(alice)
    response = htmx(client, url("inject_release", running, "news"))
    assert response.status_code == 200
    # The answer is the console's inject list alone, swapped out of band (the button
    # swaps nothing), the inject now marked released.
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="control-injects" hx-swap-oob="true">')
    assert 'id="control-panel"' not in body
    assert 'aria-label="Release News: outage"' not in body
    assert InjectRelease.objects.filter(exercise=running, inject__key="news").count() == 1
    again = htmx(client, url("inject_release", running, "news"))
    assert "already released" in again.content.decode()
    assert InjectRelease.objects.filter(exercise=running, inject__key="news").count() == 1


def test_it_pauses_resumes_and_ends(client, running, alice):
    client.force_login(alice)
    htmx(client, url("pause", running))
    running.refresh_from_db()
    assert running.status == Exercise.Status.PAUSED
    htmx(client, url("resume", running))
    running.refresh_from_db()
    assert running.status == Exercise.Status.RUNNING
    htmx(client, url("end", running))
    running.refresh_from_db()
    assert running.status == Exercise.Status.ENDED


def test_it_shows_engine_errors_inline(client, running, alice):
    client.force_login(alice)
    response = htmx(client, url("resume", running))  # not paused
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_it_overrides_the_branch(client, running, alice):
    client.force_login(alice)
    htmx(client, url("advance", running), {"to_stage": "contained"})
    running.refresh_from_db()
    assert running.current_stage.key == "contained"


def test_it_saves_hotwash_notes(client, running, alice):
    client.force_login(alice)
    htmx(client, url("hotwash", running), {"notes": "Sharing came late."})
    running.refresh_from_db()
    assert running.hotwash_notes == "Sharing came late."


# ---------------------------------------------------------------- team room


def test_it_shows_the_team_room_with_briefing_and_decision_form(client, running, bob):
    client.force_login(bob)
    page = client.get(url("room", running)).content.decode()
    assert "Encrypted hosts." in page
    assert "What do you do first?" in page
    assert 'name="first-move-client_token"' in page
    assert "Only the teams you pick" in page  # TLP help text


def test_the_room_lists_every_other_team_to_share_with_and_ask(client, running, bob):
    """The share form's recipient boxes and the RFI form's addressees are written out in
    the templates (not a widget template per team): every other team, once, by code."""
    bank = factories.make_team(running, "bank")
    hospital = team(running, "hospital")
    client.force_login(bob)
    page = client.get(url("room", running)).content.decode()
    for other in (hospital, bank):
        assert page.count(f'name="recipients" value="{other.code}"') == 1
        assert page.count(f'<option value="{other.code}">{escape(other)}</option>') == 1
    own = team(running, "cloud").code
    assert f'value="{own}"' not in page
    assert '<option value="control">The control cell</option>' in page


def test_a_failed_share_keeps_the_recipients_ticked(client, running, bob):
    hospital = team(running, "hospital")
    client.force_login(bob)
    form = {"tlp": "RED", "title": "", "body": "x", "recipients": [hospital.code]}
    response = htmx(client, url("share", running), form)
    assert f'value="{hospital.code}" id="id_recipients_0" checked>' in response.content.decode()


def test_a_room_page_costs_the_same_queries_whatever_the_number_of_teams(
    client, running, bob, django_assert_max_num_queries
):
    """The start of an exercise is every player opening the room at once: the page reads
    the seat, the status and feed, the prompts with the team's decisions, shares, thread
    and RFIs, and the other teams once for both forms (bench/README.md: 20 queries before,
    17, now 13 on SQLite: the windows with the decisions, and the menu's permissions, in
    one query each). A query per team would fail here: the scenario's third role joins
    before the GET."""
    client.force_login(bob)
    client.get(url("room", running))  # the session's first read and write
    factories.make_team(running, "bank")
    with django_assert_max_num_queries(13):
        response = client.get(url("room", running))
    assert response.status_code == 200


def test_it_makes_decision_resubmits_idempotent_and_marks_revisions(client, running, bob):
    client.force_login(bob)
    path = url("decide", running, "first-move")
    first = {"first-move-option": "isolate", "first-move-client_token": "tok-1"}
    htmx(client, path, first)
    htmx(client, path, first)  # a double click
    decision = Decision.objects.get(team=team(running, "cloud"))
    assert decision.revision == 1
    assert decision.option.key == "isolate"
    response = htmx(client, path, {"first-move-option": "wait", "first-move-client_token": "tok-2"})
    assert "revised" in response.content.decode()
    assert DecisionRevision.objects.filter(decision=decision).count() == 2


def test_a_decision_answers_with_its_status_line_from_what_it_wrote(
    client, running, bob, django_assert_max_num_queries
):
    """The decide POST is the hottest request: session, user, seat with its exercise,
    window, options, the engine's reads and writes; its answer reads nothing back
    (bench/README.md: 21 queries before, 15 now on SQLite, 12 on PostgreSQL, the seat,
    the window and the exercise lock written out). It is the card's status line, an
    emptied error box, a token for the next answer and the button's new label: the form
    the team filled in stays as it is."""
    client.force_login(bob)
    path = url("decide", running, "first-move")
    htmx(client, path, {"first-move-option": "isolate", "first-move-client_token": "t1"})
    with django_assert_max_num_queries(15):
        response = htmx(
            client, path, {"first-move-option": "wait", "first-move-client_token": "t2"}
        )
    answer = response.content.decode()
    assert "revision 2, by" in answer
    assert bob.label in answer
    assert 'id="prompt-first-move-errors" role="alert" hx-swap-oob="true"></div>' in answer
    token = re.search(
        r'name="first-move-client_token" id="id_first-move-client_token" value="(\w+)"', answer
    )
    assert token
    assert token.group(1) not in ("t1", "t2")
    assert 'hx-swap-oob="innerHTML:#prompt-first-move-submit">Revise decision<' in answer
    assert 'type="radio"' not in answer
    assert "<form" not in answer
    assert "HX-Retarget" not in response.headers  # the form's own target: the status line


def test_a_refused_decision_answers_with_the_whole_card_and_its_reason(client, running, bob):
    """Refused, the card replaces itself, with the reason in its error box and the form
    as sent (the next accepted answer empties the box)."""
    client.force_login(bob)
    data = {"first-move-text": "no choice made", "first-move-client_token": "t1"}
    response = htmx(client, url("decide", running, "first-move"), data)
    assert response.headers["HX-Retarget"] == "#prompt-first-move"
    assert response.headers["HX-Reswap"] == "outerHTML"
    card = response.content.decode()
    assert re.search(
        r'id="prompt-first-move-errors" role="alert"><p class="field-error">Choose one', card
    )
    assert '<article id="prompt-first-move"' in card
    assert 'type="radio"' in card
    assert not Decision.objects.exists()


def test_it_shares_red_only_with_the_named_team(client, running, bob, carol, alice):
    bank = factories.make_team(running, "bank")
    client.force_login(bob)
    response = htmx(
        client,
        url("share", running),
        {
            "tlp": "RED",
            "title": "IOC list",
            "body": "Block 203.0.113.7",
            "recipients": [team(running, "hospital").code],
            "client_token": "share-1",
        },
    )
    assert "Shared “IOC list”" in response.content.decode()
    assert Share.objects.get().tlp == "RED"
    client.force_login(carol)
    assert "IOC list" in client.get(url("room", running)).content.decode()
    outsider_player = factories.add_player(running, bank).user
    client.force_login(outsider_player)
    assert "IOC list" not in client.get(url("room", running)).content.decode()


def test_it_rejects_a_red_share_without_recipients(client, running, bob):
    client.force_login(bob)
    data = {"tlp": "RED", "title": "x", "body": "y", "client_token": "t"}
    response = htmx(client, url("share", running), data)
    assert "needs at least one recipient" in response.content.decode()
    assert not Share.objects.exists()


# ---------------------------------------------------------------- evaluator and observer


def test_it_records_an_evaluator_observation(client, running):
    evaluator = factories.add_participant(running, "evaluator").user
    client.force_login(evaluator)
    assert client.get(url("evaluate", running)).status_code == 200
    data = {
        "team": team(running, "cloud").code,
        "criterion": "respond",
        "rating": "S",
        "note": "ok",
    }
    response = htmx(client, url("observe_record", running), data)
    html = response.content.decode()
    assert "Recorded S" in html
    assert 'id="ratings" class="panel" aria-labelledby="ratings-heading" hx-swap-oob="true"' in html
    assert 'class="rating rating-S"' in html
    assert Observation.objects.get().rating == "S"
    observed = running.events.get(kind="observation.recorded")
    pushed = render_event(observed, perspective="evaluator")
    assert 'class="rating rating-S"' in pushed.split('id="ratings"')[1]
    # The control console has no ratings grid: its frame carries none.
    assert 'id="ratings"' not in render_event(observed, perspective="control")


def test_it_shows_observers_only_what_everyone_may_see(client, running, alice):
    engine.inject_release(
        exercise=running, inject=running.scenario.injects.get(key="news"), actor=alice
    )
    observer = factories.add_participant(running, "observer").user
    client.force_login(observer)
    page = client.get(url("observe", running)).content.decode()
    assert "News: outage" in page  # CLEAR, to everyone
    assert "SIEM: mass encryption" not in page  # cloud team only


# ---------------------------------------------------------------- fragments


def test_it_renders_fragments_with_seq_and_out_of_band_panels(running):
    stage_event = running.events.get(kind="stage.entered")
    for perspective in ["control", "teams", "observer"]:
        html = render_event(stage_event, perspective=perspective)
        assert html.startswith(f"<!--seq:{stage_event.seq}-->")
        assert 'hx-swap-oob="afterbegin:#feed"' in html
        assert 'id="status-bar" class="status-bar" hx-swap-oob="true"' in html
    assert 'id="control-panel"' in render_event(stage_event, perspective="control")
    prompt_event = running.events.get(kind="prompt.opened")
    cloud = team(running, "cloud")
    html = render_event(prompt_event, perspective=f"team-{cloud.id}")
    assert 'id="prompts"' in html
    assert "What do you do first?" in html
    # Shared by the team's browsers: no token baked in, each page's JS adds its own.
    assert 'name="first-move-client_token" id="id_first-move-client_token"' in html
    assert 'value="' not in html.split('name="first-move-client_token"')[1].split(">")[0]


def test_it_lists_your_exercises_on_the_home_page_by_role(client, exercise, alice, bob):
    client.force_login(bob)
    home = client.get(reverse("home")).content.decode()
    assert "Your exercises" in home
    assert url("room", exercise) in home
    client.force_login(alice)
    assert url("lobby", exercise) in client.get(reverse("exercises:exercise_list")).content.decode()


def test_it_pushes_a_decision_as_one_cell_to_control_and_a_status_line_to_the_team(running, bob):
    cloud = team(running, "cloud")
    prompt = running.scenario.prompts.get(key="first-move")
    engine.decision_submit(
        exercise=running,
        team=cloud,
        prompt=prompt,
        author=bob,
        client_token="t1",
        option=prompt.options.get(key="pay"),
    )
    event = running.events.get(kind="decision.submitted")
    control = render_event(event, perspective="control")
    assert f'id="decision-first-move-{cloud.code}" hx-swap-oob="true"' in control
    assert "Pay the ransom" in control
    assert 'id="control-panel"' not in control  # no full redraw for a decision
    room = render_event(event, perspective=f"team-{cloud.id}")
    assert 'id="prompt-first-move-status" hx-swap-oob="innerHTML"' in room
    assert "Your team decided" in room


def test_it_links_the_after_action_report_once_ended(client, running, alice):
    client.force_login(alice)
    report = reverse("scoring:report", args=[running.code])
    assert report not in client.get(reverse("home")).content.decode()
    engine.exercise_end(exercise=running, actor=alice)
    assert report in client.get(url("control", running)).content.decode()
    assert report in client.get(reverse("home")).content.decode()


def test_prompt_keys_reveal_nothing_a_team_was_not_asked(client, running, alice, bob, carol):
    """Issue 13 #12: an unknown key, a prompt not opened yet and a prompt put only to
    another team answer alike, so keys cannot be enumerated; nothing is written."""
    later = running.scenario.stages.get(key="contained")
    Prompt.objects.create(scenario=running.scenario, stage=later, key="later", question="Later?")
    cloud_only = Prompt.objects.create(
        scenario=running.scenario,
        stage=running.scenario.start_stage,
        key="cloud-only",
        question="Cloud only?",
        kind=Prompt.Kind.TEXT,
        audience="roles",
    )
    cloud_only.audience_roles.add(team(running, "cloud").role)
    engine.prompt_open(exercise=running, prompt=cloud_only, actor=alice)
    client.force_login(carol)
    answers = {
        (response.status_code, response.content)
        for key in ("no-such-prompt", "later", "cloud-only")
        for response in [htmx(client, url("decide", running, key), {f"{key}-text": "x"})]
    }
    assert len(answers) == 1
    assert answers.pop()[0] == 404
    assert not Decision.objects.exists()
    client.force_login(bob)  # the team it was put to decides as usual
    htmx(client, url("decide", running, "cloud-only"), {"cloud-only-text": "Yes"})
    assert Decision.objects.get().text == "Yes"


def test_it_shows_a_closed_prompt_with_the_reason(client, running, alice, carol):
    engine.prompt_close(exercise=running, prompt=running.scenario.prompts.get(), actor=alice)
    client.force_login(carol)
    data = {"first-move-option": "isolate", "first-move-client_token": "late"}
    response = htmx(client, url("decide", running, "first-move"), data).content.decode()
    assert 'role="alert"' in response
    assert 'id="prompt-first-move"' in response
    assert not Decision.objects.exists()


def test_it_closes_and_opens_prompts_from_the_console(client, running, alice):
    client.force_login(alice)
    htmx(client, url("prompt_toggle", running, "first-move", "close"))
    window = running.prompt_windows.get(prompt__key="first-move")
    assert not window.is_open
    later = running.scenario.stages.get(key="contained")
    Prompt.objects.create(scenario=running.scenario, stage=later, key="later", question="Later?")
    htmx(client, url("prompt_toggle", running, "later", "open"))
    assert running.prompt_windows.get(prompt__key="later").is_open
    assert client.post(url("prompt_toggle", running, "later", "explode")).status_code == 404


def test_the_evaluator_rates_from_one_card_per_team(client, running):
    evaluator = factories.add_participant(running, "evaluator").user
    client.force_login(evaluator)
    html = client.get(url("evaluate", running)).content.decode()
    for team_row in running.teams.all():
        assert f'<input type="hidden" name="team" value="{team_row.code}">' in html
    # The current stage's prompt exercises "respond": suggested first.
    suggested = html.split('<optgroup label="Exercised in this stage">')[1].split("</optgroup>")[0]
    assert 'value="respond"' in suggested
    assert html.count('name="rating" value="U"') == running.teams.count()
    data = {"team": team(running, "cloud").code, "criterion": "respond", "rating": "M"}
    response = htmx(client, url("observe_record", running), data)
    assert "Recorded M" in response.content.decode()
    missing = htmx(client, url("observe_record", running), {**data, "rating": ""})
    assert 'class="field-error" role="alert"' in missing.content.decode()


def test_a_team_keeps_its_injects_in_its_feed_however_busy_the_other_teams_are(running):
    """With 100 teams deciding, the exercise's last ``FEED_LIMIT`` events can all be other
    teams' decisions: the feed reads further back until it has a page of visible ones."""
    cloud, hospital = team(running, "cloud"), team(running, "hospital")
    seen_before = [e.seq for e in feed_for(running, perspective=team_perspective(cloud.pk))]
    assert seen_before  # the start, the first stage and its inject
    with transaction.atomic():
        locked = Exercise.objects.select_for_update().get(pk=running.pk)
        for _ in range(FEED_LIMIT + 50):
            events.write_event(
                exercise=locked,
                kind=events.EXERCISE_PAUSED,  # any kind: the feed's choice reads no payload
                payload=events.Announcement(message="hospital only"),
                visibility="some",
                team_ids=[hospital.pk],
                clock_seconds=0,
            )
    cloud_feed = [e.seq for e in feed_for(running, perspective=team_perspective(cloud.pk))]
    assert cloud_feed == seen_before
    hospital_feed = feed_for(running, perspective=team_perspective(hospital.pk))
    assert len(hospital_feed) == FEED_LIMIT
    assert [e.seq for e in hospital_feed] == sorted(e.seq for e in hospital_feed)
    assert hospital_feed[-1].seq == locked.last_seq
