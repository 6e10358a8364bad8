from __future__ import annotations

import pytest

from accounts.audit import audit_for_exercise, audit_record

pytestmark = pytest.mark.django_db


def test_it_records_actions_per_exercise_in_order(alice):
    audit_record(actor=alice, action="exercise.start", exercise_code="EX1")
    audit_record(actor=None, action="inject.release", exercise_code="EX1", target="Timed inject")
    audit_record(actor=alice, action="exercise.start", exercise_code="OTHER")
    entries = audit_for_exercise("EX1")
    assert [(e.actor_label, e.action) for e in entries] == [
        ("Alice Facilitator", "exercise.start"),
        ("system", "inject.release"),
    ]


def test_it_keeps_the_actor_label_after_the_user_is_deleted(alice):
    audit_record(actor=alice, action="plan.edit", exercise_code="EX1")
    alice.delete()
    (entry,) = audit_for_exercise("EX1")
    assert entry.actor is None
    assert entry.actor_label == "Alice Facilitator"
