"""The recompute_reports command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scoring.models import Score
from tests import factories


def test_it_recomputes_named_exercises(db, alice):
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    out = StringIO()
    call_command("recompute_reports", exercise.code, stdout=out)
    assert f"{exercise.code} Played exercise: 12 scores" in out.getvalue()
    assert Score.objects.filter(exercise=exercise).count() == 12


def test_it_refuses_unknown_codes(db):
    with pytest.raises(CommandError, match="nope"):
        call_command("recompute_reports", "nope")
