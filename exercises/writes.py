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
these models. On PostgreSQL the exercise's update, its event and the rows written with the
event (a decision and its revision, an inject's release, an audit entry) go in one
statement (``Table.insert(after=..., then=...)``); a decision's also take the exercise's
lock in it (``Table.insert_gated``, ``events.write_team_event_if``).
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


@dataclass(frozen=True)
class Then:
    """The new instance ``obj`` of ``table``, inserted after another in the same statement;
    ``ref``: its column (attname) that takes the new primary key of ``of``, a row inserted
    before it in the statement (default: the statement's first)."""

    table: Table
    obj: Model
    ref: str = ""
    of: Model | None = None


@dataclass(frozen=True)
class Lead:
    """The first ``WITH``s of a statement (``Table.insert_gated``): ``sql``, their text
    (``name AS (...), ...``) with ``values``; ``gate``, the one whose row (none or one) lets
    the statement write; ``fill``, columns (attnames) of the inserted row taken from the
    gate's row (SQL over it); ``out``, what the statement answers after the new primary
    keys (a select list and its ``FROM``)."""

    sql: str
    values: list[Any]
    gate: str
    fill: dict[str, str]
    out: str


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
        self._insert_head = f"INSERT INTO {self._table} ({columns})"
        self._insert_sql = f"{self._insert_head} VALUES ({marks})"
        self._pk_column = connection.ops.quote_name(self._pk.column)
        # RETURNING needs SQLite 3.35; older ones give the id as the cursor's lastrowid.
        self._returning = connection.features.can_return_columns_from_insert
        if self._returning:
            self._insert_sql += f" RETURNING {self._pk_column}"
        self._updates: dict[tuple[str, ...], str] = {}

    def insert(
        self, obj: Model, *, after: Update | None = None, then: Sequence[Then | Update] = ()
    ) -> None:
        """Insert the new instance ``obj`` and set its primary key, as ``obj.save()``.

        ``after``: an update sent first; ``then``: inserts (``Then``) and updates sent
        after, in their order. On PostgreSQL all go in one statement (data-modifying
        ``WITH``s): one round trip instead of several, and under the exercise lock every
        round trip is a wait all the exercise's writers share."""
        if connection.vendor != "postgresql" or not (after or then):
            if after is not None:
                after.table.update(after.obj, after.attnames)
            self._insert_alone(obj)
            for row in then:
                if isinstance(row, Update):
                    row.table.update(row.obj, row.attnames)
                else:
                    _refer(row, obj)
                    row.table._insert_alone(row.obj)
            return
        parts, values = [], []
        if after is not None:
            update_sql, update_values = after.table._update_statement(after.obj, after.attnames)
            parts.append(f"moved AS ({update_sql})")
            values += update_values
        values += self._values(obj)
        if then:
            rows, row_values, inserted = _rows_after(obj, then, gated=False)
            parts += [f"w0 AS ({self._insert_sql})", *rows]
            values += row_values
            body = f"SELECT * FROM {', '.join(f'w{k}' for k in range(len(inserted)))}"
        else:  # an event alone, as short as its statement can be
            inserted, body = [obj], self._insert_sql
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(parts)} {body}", values)
            pks = cursor.fetchone()
        _written(obj, inserted, pks, then)

    def insert_gated(
        self, obj: Model, *, lead: Lead, then: Sequence[Then | Update] = ()
    ) -> tuple[Any, ...] | None:
        """PostgreSQL: ``insert`` after ``lead``, in one statement, if its ``gate`` has a row
        (its columns ``fill`` the new row's); ``then`` is written only with it. Returns the
        ``lead``'s ``out`` columns (None if they have no row), and sets the primary keys of
        what it wrote (none, if the gate had no row)."""
        sql, first_values = self._select_statement(obj, fill=lead.fill, source=lead.gate)
        rows, row_values, inserted = _rows_after(obj, then, gated=True)
        keys = ", ".join(f"(SELECT {_quoted_pk(o)} FROM w{k})" for k, o in enumerate(inserted))
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH {', '.join([lead.sql, f'w0 AS ({sql})', *rows])} SELECT {keys}, {lead.out}",
                [*lead.values, *first_values, *row_values],
            )
            answer = cursor.fetchone()
        if answer is None:
            return None
        if answer[0] is not None:
            _written(obj, inserted, answer[: len(inserted)], then)
        return answer[len(inserted) :]

    def _select_statement(
        self, obj: Model, *, fill: dict[str, str], source: str
    ) -> tuple[str, list[Any]]:
        """The insert of ``obj`` as one row per row of ``source`` (none or one), its columns
        ``fill`` taken as SQL over that row instead of from ``obj``."""
        values, marks = self._values(obj), ["%s"] * len(self._inserted)
        for at in sorted((self._inserted.index(self._fields[a]) for a in fill), reverse=True):
            del values[at]
        for attname, expression in fill.items():
            marks[self._inserted.index(self._fields[attname])] = expression
        sql = f"{self._insert_head} SELECT {', '.join(marks)} FROM {source}"
        return f"{sql} RETURNING {self._pk_column}", values

    def _insert_alone(self, obj: Model) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self._insert_sql, self._values(obj))
            pk = cursor.fetchone()[0] if self._returning else cursor.lastrowid
        _saved(obj, pk)

    def _values(self, obj: Model) -> list[Any]:
        return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self._inserted]

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


def _rows_after(
    obj: Model, then: Sequence[Then | Update], *, gated: bool
) -> tuple[list[str], list[Any], list[Model]]:
    """The ``WITH``s writing ``then`` after ``obj``'s (``w0``), their values, and the rows
    inserted (``inserted[k]``'s is ``w<k>``). A ``Then`` is inserted once per row of the
    statement it refers to (one, or none when ``gated`` and the gate had none), its ``ref``
    that row's key; an ``Update``, when ``gated``, only if ``w0`` wrote its row."""
    parts: list[str] = []
    values: list[Any] = []
    inserted = [obj]
    for n, row in enumerate(then):
        if isinstance(row, Update):
            sql, row_values = row.table._update_statement(row.obj, row.attnames)
            parts.append(f"u{n} AS ({sql}{' AND EXISTS (SELECT 1 FROM w0)' if gated else ''})")
        else:
            of = obj if row.of is None else row.of
            source = f"w{_position(inserted, of)}"
            fill = {row.ref: f"{source}.{_quoted_pk(of)}"} if row.ref else {}
            sql, row_values = row.table._select_statement(row.obj, fill=fill, source=source)
            parts.append(f"w{len(inserted)} AS ({sql})")
            inserted.append(row.obj)
        values += row_values
    return parts, values, inserted


def _written(
    obj: Model, inserted: list[Model], pks: Sequence[Any], then: Sequence[Then | Update]
) -> None:
    """Mark the rows a statement inserted saved with their keys, and set ``then``'s refs."""
    for instance, pk in zip(inserted, pks, strict=True):
        _saved(instance, pk)
    for row in then:
        if isinstance(row, Then):
            _refer(row, obj)


def _saved(obj: Model, pk: Any) -> None:
    """Mark the new instance ``obj`` saved with the primary key ``pk``, as ``save()`` does."""
    setattr(obj, obj._meta.pk.attname, pk)
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS


def _refer(row: Then, first: Model) -> None:
    """Set ``row``'s ``ref`` to the primary key of the row it names (``first`` by default)."""
    if row.ref:
        setattr(row.obj, row.ref, (first if row.of is None else row.of).pk)


def _position(inserted: list[Model], obj: Model) -> int:
    """Where ``obj`` is in ``inserted``: a ``Then`` refers to a row inserted before it."""
    for k, row in enumerate(inserted):
        if row is obj:
            return k
    raise ValueError(f"{obj!r} is not inserted before the row that refers to it.")


def _quoted_pk(obj: Model) -> str:
    return connection.ops.quote_name(obj._meta.pk.column)
