"""The team room's written-out reads (``exercises.room_queries``) and the choice lists it
draws in Python (``live_tags.choice_inputs``, ``select_options``): the ORM's answers and
Django's widget markup, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from django.db.models import Q
from django.template import Context, Template
from django.utils.html import escape

from exercises import engine
from exercises.forms import RfiForm, ShareForm
from exercises.models import Decision, Exercise, Message, Rfi, Team
from exercises.room_queries import (
    exercise_shares,
    other_team_choices,
    stage_windows,
    team_rfis,
    thread_messages,
)
from tests import factories


def team(exercise, role_key: str) -> Team:
    return exercise.teams.get(role__key=role_key)


def test_the_other_teams_are_the_orms_in_its_order_with_its_labels(running):
    factories.make_team(running, "bank", factories.make_organization("Bank & <Co>"))
    cloud = team(running, "cloud")
    expected = [(t.code, str(t)) for t in running.teams.exclude(pk=cloud.pk)]
    assert len(expected) == 2
    assert other_team_choices(exercise_id=running.pk, team_id=cloud.pk) == expected


def test_a_team_alone_has_no_other_team(exercise, alice):
    lone = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(lone, "cloud")
    assert other_team_choices(exercise_id=lone.pk, team_id=cloud.pk) == []


def drawn(source: str, **context) -> str:
    return Template("{% load live_tags %}" + source).render(Context(context))


def test_the_recipient_boxes_are_djangos_checkboxes_checked_as_posted(running):
    factories.make_team(running, "bank", factories.make_organization("Bank & <Co>"))
    cloud, bank = team(running, "cloud"), team(running, "bank")
    for data in (None, {"tlp": "RED", "recipients": [bank.code]}):
        form = ShareForm(data, exercise=running, team=cloud)
        boxes = drawn('{{ form.recipients|choice_inputs:"checkbox" }}', form=form)
        expected = "".join(
            f'<label for="{box.id_for_label}">{box.tag()} {escape(box.choice_label)}</label>'
            for box in form["recipients"]
        )
        assert boxes == expected
    assert f'value="{bank.code}" id="id_recipients_1" checked>' in boxes


def test_the_addressee_options_are_djangos_selected_as_posted(running):
    cloud, hospital = team(running, "cloud"), team(running, "hospital")
    for data, selected in ((None, None), ({"to": hospital.code}, hospital.code)):
        form = RfiForm(data, exercise=running, team=cloud)
        options = drawn("{{ form.to|select_options }}", form=form)
        expected = "".join(
            f'\n  <option value="{o.data["value"]}"'
            f"{' selected' if o.data['selected'] else ''}>{escape(o.choice_label)}</option>"
            for o in form["to"]
        )
        assert options == expected
        assert ("selected" in options) == (selected is not None)
    assert f'<option value="{hospital.code}" selected>' in options


def ask(exercise, team: Team, author, to: Team | None, token: str) -> Rfi:
    return engine.rfi_ask(
        exercise=exercise,
        team=team,
        author=author,
        question=f"Question {token}?",
        tlp="AMBER",
        to_team=to,
        client_token=token,
    )


def test_a_teams_rfis_are_the_orms_with_what_their_items_show(running, alice, bob, carol):
    cloud, hospital = team(running, "cloud"), team(running, "hospital")
    to_control = ask(running, cloud, bob, None, "1")
    ask(running, cloud, bob, hospital, "2")
    ask(running, hospital, carol, cloud, "3")
    ask(running, hospital, carol, None, "4")  # neither asked by nor put to the cloud
    inject = running.scenario.injects.first()
    engine.rfi_answer(exercise=running, rfi=to_control, author=alice, answer="Yes", inject=inject)
    last_seq = Exercise.objects.get(pk=running.pk).last_seq
    expected = list(
        Rfi.objects.filter(Q(from_team=cloud) | Q(to_team=cloud), exercise=running)
        .select_related(*RELATED)
        .order_by("-asked_at", "-id")
    )
    rfis = team_rfis(running, cloud.pk, upto=last_seq)
    assert [r.code for r in rfis] == [r.code for r in expected]
    assert len(rfis) == 3
    for rfi, orm in zip(rfis, expected, strict=True):
        assert same_row(rfi, orm)
        for path in RELATED:
            mine, theirs = rfi, orm
            for name in path.split("__"):
                mine, theirs = getattr(mine, name, None), getattr(theirs, name, None)
            assert (mine is None) == (theirs is None), path
            assert mine is None or same_row(mine, theirs), path
        assert rfi.exercise is running
        assert rfi.addressee_label == orm.addressee_label
        assert str(rfi.from_team) == str(orm.from_team)
    assert rfis[-1].answer_inject == inject
    assert rfis[-1].answered_by == alice
    first_only = team_rfis(running, cloud.pk, upto=to_control.asked_seq)
    assert [r.code for r in first_only] == [to_control.code]


RELATED = (
    "from_team__organization",
    "from_team__role",
    "to_team__organization",
    "to_team__role",
    "asked_by",
    "answered_by",
    "answer_inject",
)


def same_row(mine, theirs) -> bool:
    fields = type(theirs)._meta.concrete_fields
    return all(getattr(mine, f.attname) == getattr(theirs, f.attname) for f in fields)


def test_a_teams_thread_is_the_orms_up_to_the_pages_event(running, alice, bob):
    cloud, hospital = team(running, "cloud"), team(running, "hospital")
    first = engine.message_post(exercise=running, team=cloud, author=bob, body="@bob hi")
    engine.message_post(exercise=running, team=cloud, author=alice, body="From control")
    engine.message_post(exercise=running, team=hospital, author=alice, body="Not cloud's")
    expected = list(Message.objects.filter(team=cloud).select_related("author"))
    messages = thread_messages(cloud.pk, upto=Exercise.objects.get(pk=running.pk).last_seq)
    assert len(messages) == 2
    for message, orm in zip(messages, expected, strict=True):
        assert same_row(message, orm)
        assert same_row(message.author, orm.author)
    assert [m.pk for m in thread_messages(cloud.pk, upto=first.event_seq)] == [first.pk]


def test_the_exercises_shares_are_the_orms_with_their_recipients(running, bob, carol):
    cloud, hospital = team(running, "cloud"), team(running, "hospital")
    for n, (sender, author, tlp, recipients) in enumerate(
        [(cloud, bob, "RED", [hospital]), (hospital, carol, "GREEN", []), (cloud, bob, "CLEAR", [])]
    ):
        engine.share_create(
            exercise=running,
            from_team=sender,
            author=author,
            tlp=tlp,
            title=f"Share {n}",
            body="Body",
            recipients=recipients,
            client_token=f"s{n}",
        )
    expected = list(
        running.shares.select_related("from_team__organization", "from_team__role")
        .prefetch_related("recipients", "summarizes")
        .order_by("-created_at")
    )
    shares = exercise_shares(running)
    assert [s.pk for s in shares] == [s.pk for s in expected]
    for share, orm in zip(shares, expected, strict=True):
        assert same_row(share, orm)
        assert str(share.from_team) == str(orm.from_team)
        assert list(share.recipients.all()) == list(orm.recipients.all())
        assert list(share.summarizes.all()) == list(orm.summarizes.all())
    assert exercise_shares(factories.make_exercise(facilitator=carol)) == []


def test_the_stages_windows_come_with_the_teams_decision(running, bob):
    cloud, hospital = team(running, "cloud"), team(running, "hospital")
    prompt = running.scenario.prompts.get(key="first-move")
    option = prompt.options.get(key="isolate")
    engine.decision_submit(
        exercise=running, team=cloud, prompt=prompt, author=bob, client_token="t", option=option
    )
    windows = running.prompt_windows.filter(prompt__stage=running.current_stage)
    assert windows.exists()
    for member in (cloud, hospital):
        pairs = {w.pk: (w, d) for w, d in stage_windows(running, member.pk)}
        assert sorted(pairs) == sorted(w.pk for w in windows)
        for orm in windows.select_related("prompt"):
            window, decision = pairs[orm.pk]
            assert same_row(window, orm)
            assert same_row(window.prompt, orm.prompt)
            expected = Decision.objects.filter(team=member, prompt=orm.prompt).first()
            assert (decision is None) == (expected is None)
            if expected is not None:
                assert same_row(decision, expected)
                assert (decision.option, decision.author) == (option, bob)
    assert pairs[windows.get(prompt=prompt).pk][1] is None  # the hospital has not decided
