"""Plays for the scoring tests: variations of the factories' played exercise."""

from __future__ import annotations

from exercises.models import InjectRelease


def leak_after_the_bank_decided(exercise) -> None:
    """Release the leak that the cloud's payment caused only after the bank's decision
    (900 s), so the bank decides without the SIEM news its provider held and could have
    passed on under TLP:AMBER: one uninformed decision."""
    InjectRelease.objects.filter(exercise=exercise, inject__key="leak").update(clock_seconds=1000)
