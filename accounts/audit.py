"""The audit log: one function records, everyone calls it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import AuditEntry, User


def audit_record(**fields: Any) -> AuditEntry:
    """Record an authoritative action (``audit_entry``'s fields). Call inside the
    transaction that makes the change, so the entry exists exactly when the change does."""
    entry = audit_entry(**fields)
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *,
    actor: User | None,
    action: str,
    exercise_code: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """The entry of an authoritative action, unsaved: ``audit_record`` saves it, the live
    engine writes it in the statement of the change (``exercises.writes``). ``at``: when
    it happened, if not now (the engine passes its clock's time)."""
    return AuditEntry(
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
