"""Written-out reads of the team room page: every player opens it at the start of an
exercise (a thousand GETs in half a minute), so what it reads per team of the exercise is
read as plain values, not built into model instances. They run as they are on SQLite and
PostgreSQL; tests/exercises/test_room_queries.py holds them to the ORM's answers.
"""

from __future__ import annotations

from django.db import connection

from accounts.models import Organization
from exercises.models import Team
from scenarios.models import Role

_q = connection.ops.quote_name

# Team.Meta.ordering (role order, then key); the label is Team.__str__.
_OTHER_TEAMS = f"""
SELECT t.code, o.name, r.label
FROM {Team._meta.db_table} t
JOIN {Organization._meta.db_table} o ON o.id = t.organization_id
JOIN {Role._meta.db_table} r ON r.id = t.role_id
WHERE t.exercise_id = %s AND t.id <> %s
ORDER BY r.{_q("order")}, r.key
"""


def other_team_choices(*, exercise_id: int, team_id: int) -> list[tuple[str, str]]:
    """The exercise's teams but ``team_id``, as the share and RFI forms offer them:
    (code, ``str(team)``) in ``Team.Meta.ordering``. Building the 99 other teams of a
    100-team exercise with their organizations and roles cost a tenth of a room page's
    CPU; their codes and labels are all the forms show."""
    with connection.cursor() as cursor:
        cursor.execute(_OTHER_TEAMS, [exercise_id, team_id])
        return [(code, f"{name} ({label})") for code, name, label in cursor.fetchall()]
