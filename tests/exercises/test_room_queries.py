"""The team room's written-out reads (``exercises.room_queries``) and the choice lists it
draws in Python (``live_tags.choice_inputs``, ``select_options``): the ORM's answers and
Django's widget markup, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from django.template import Context, Template
from django.utils.html import escape

from exercises.forms import RfiForm, ShareForm
from exercises.models import Team
from exercises.room_queries import other_team_choices
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
