"""Issue 13 (finding 4, the model side): every free-text field people type into has a
length limit, the same in the model, its forms and the scenario import."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from accounts.forms import OrganizationForm
from config.limits import TEXT_BRIEF, TEXT_DOCUMENT, TEXT_NOTE, TEXT_SHARE
from exercises.forms import DecisionForm, HotwashForm, ObservationForm, ShareForm
from scenarios.formats import validate_document
from scoring.forms import ImprovementItemForm

# Written by the app, never typed by a person.
COMPUTED = {
    ("scoring", "Gap", "summary"),
    ("scoring", "ReportExport", "error"),
    ("scenarios", "DraftSnapshot", "rows"),  # the editor's undo: a serialized draft
}
FORM_LIMITS = [
    (DecisionForm, "text", TEXT_NOTE),
    (DecisionForm, "rationale", TEXT_NOTE),
    (ShareForm, "body", TEXT_SHARE),
    (ObservationForm, "note", TEXT_NOTE),
    (HotwashForm, "notes", TEXT_DOCUMENT),
    (ImprovementItemForm, "observation", TEXT_NOTE),
    (ImprovementItemForm, "recommendation", TEXT_NOTE),
    (ImprovementItemForm, "corrective_action", TEXT_NOTE),
    (OrganizationForm, "description", TEXT_BRIEF),
]


def _text_fields() -> list[tuple[str, str, models.TextField]]:
    return [
        (app, model.__name__, field)
        for app in ("accounts", "scenarios", "exercises", "scoring")
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField)
    ]


def test_every_typed_text_field_has_a_limit() -> None:
    unlimited = [
        f"{app}.{model}.{field.name}"
        for app, model, field in _text_fields()
        if field.max_length is None and (app, model, field.name) not in COMPUTED
    ]
    assert unlimited == []


@pytest.mark.parametrize(("form", "name", "limit"), FORM_LIMITS)
def test_every_form_applies_the_model_limit(form, name, limit) -> None:
    assert form.base_fields[name].max_length == limit


def test_a_form_refuses_one_character_too_many() -> None:
    assert HotwashForm({"notes": "x" * TEXT_DOCUMENT}).is_valid()
    form = HotwashForm({"notes": "x" * (TEXT_DOCUMENT + 1)})
    assert not form.is_valid()
    assert "at most 20000 characters" in str(form.errors["notes"])


@pytest.mark.parametrize(
    ("path", "field", "limit"),
    [
        ("", "summary", TEXT_DOCUMENT),
        ("stages[0]", "briefing", TEXT_DOCUMENT),
        ("stages[0].prompts[0]", "question", TEXT_BRIEF),
        ("roles[0]", "description", TEXT_BRIEF),
    ],
)
def test_the_import_applies_the_model_limit(path, field, limit) -> None:
    doc = {
        "format": "cascade-scenario/1",
        "key": "long",
        "title": "Long",
        "start": "s",
        "summary": "",
        "roles": [{"key": "r", "label": "R", "sector": "energy", "description": ""}],
        "stages": [
            {
                "key": "s",
                "title": "S",
                "briefing": "",
                "prompts": [{"key": "p", "question": "Q?", "kind": "text"}],
            }
        ],
    }
    target = doc
    for part in filter(None, path.replace("]", "").replace("[", ".").split(".")):
        target = target[int(part)] if part.isdigit() else target[part]
    target[field] = "x" * (limit + 1)
    messages = [f"{e.path}: {e.message}" for e in validate_document(doc)]
    assert f"{path + '.' if path else ''}{field}: is longer than {limit} characters" in messages
