"""The audit log: one function records, everyone calls it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import AuditEntry, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    exercise_code: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Record an authoritative action. Call inside the transaction that makes the change,
    so the entry exists exactly when the change does. ``at``: when it happened, if not
    now (the live engine passes its clock's time)."""
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=str(actor) if actor else "system",
        action=action,
        exercise_code=exercise_code,
        target=target[:200],
        details=details or {},
        **({"at": at} if at is not None else {}),
    )


def audit_for_exercise(exercise_code: str) -> list[AuditEntry]:
    """Entries of one exercise, oldest first (the order a report reads them in)."""
    return list(AuditEntry.objects.filter(exercise_code=exercise_code).order_by("at", "id"))
