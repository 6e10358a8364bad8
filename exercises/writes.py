"""Written-out writes of whole rows: an INSERT of a new instance, an UPDATE of some of its
columns, as ``Model.save()`` would send them.

Every engine call writes its event and moves the exercise's ``last_seq`` with it
(``events.write_event``), and a decision also writes its row and its revision: four
``save()`` calls, 17% of a decide POST's CPU under cProfile, nearly all of it the ORM
building and compiling the statement (a query, a compiler, signals), not running it. The
SQL comes from the models' metadata, as ``exercises.queries``' reads do, and every value
goes through its field's ``pre_save`` and ``get_db_prep_save``, as the ORM's own compiler
does, so the rows are the ORM's (``tests/exercises/test_writes.py`` compares them on
SQLite and PostgreSQL). No ``pre_save``/``post_save`` signal is sent: nothing listens for
these models. On PostgreSQL the exercise's update and its event go in one statement
(``Table.insert(after=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Field, Model


@dataclass(frozen=True)
class Update:
    """The columns ``attnames`` of the saved instance ``obj`` of ``table``, to write."""

    table: Table
    obj: Model
    attnames: Sequence[str]


class Table:
    """One model's table: ``insert`` and ``update`` of its instances."""

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        self.model = model
        self._table = connection.ops.quote_name(meta.db_table)
        self._pk = meta.pk
        self._fields = {f.attname: f for f in meta.concrete_fields}
        self._inserted = [f for f in meta.concrete_fields if f is not meta.pk]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self._inserted)
        marks = ", ".join(["%s"] * len(self._inserted))
        self._insert_sql = f"INSERT INTO {self._table} ({columns}) VALUES ({marks})"
        # RETURNING needs SQLite 3.35; older ones give the id as the cursor's lastrowid.
        self._returning = connection.features.can_return_columns_from_insert
        if self._returning:
            self._insert_sql += f" RETURNING {connection.ops.quote_name(self._pk.column)}"
        self._updates: dict[tuple[str, ...], str] = {}

    def insert(self, obj: Model, *, after: Update | None = None) -> None:
        """Insert the new instance ``obj`` and set its primary key, as ``obj.save()``.

        ``after``: an update sent first, in the same statement on PostgreSQL (a
        data-modifying ``WITH``), one round trip instead of two: under the exercise lock
        every round trip is a wait all the exercise's writers share."""
        sql = self._insert_sql
        values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self._inserted]
        if after is not None and connection.vendor == "postgresql":
            update_sql, update_values = after.table._update_statement(after.obj, after.attnames)
            sql, values = f"WITH moved AS ({update_sql}) {sql}", [*update_values, *values]
        elif after is not None:
            after.table.update(after.obj, after.attnames)
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            pk = cursor.fetchone()[0] if self._returning else cursor.lastrowid
        setattr(obj, self._pk.attname, pk)
        obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS

    def update(self, obj: Model, attnames: Sequence[str]) -> None:
        """Write the columns ``attnames`` of the saved instance ``obj``, as
        ``obj.save(update_fields=...)`` (it names the columns, not the relations)."""
        with connection.cursor() as cursor:
            cursor.execute(*self._update_statement(obj, attnames))

    def _update_statement(self, obj: Model, attnames: Sequence[str]) -> tuple[str, list[Any]]:
        fields = [self._fields[name] for name in attnames]
        values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
        values.append(self._pk.get_db_prep_save(obj.pk, connection))
        return self._update_sql(tuple(attnames), fields), values

    def _update_sql(self, key: tuple[str, ...], fields: list[Field]) -> str:
        sql = self._updates.get(key)
        if sql is None:
            sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
            pk = connection.ops.quote_name(self._pk.column)
            sql = self._updates[key] = f"UPDATE {self._table} SET {sets} WHERE {pk} = %s"
        return sql
