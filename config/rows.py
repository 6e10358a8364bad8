"""Whole rows of models read by written-out SELECTs, built into instances as the ORM would.

The hottest reads (every request's user, a player's seat, the decision path, the team
room) are written out: built with the ORM, compiling them cost more CPU than the database
spent running them (bench/README.md). Their rows become instances here, with the
converters the ORM applies (SQLite returns datetimes as text and booleans as 0/1; JSON
arrives as text), not through ``Model.objects.raw``, which resolves every column's
converters again on each call (twice the CPU for a user row). The SQL runs as it is on
SQLite and PostgreSQL; the tests hold each read to the ORM's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model


class Rows:
    """Whole rows of one model in a written-out SELECT: its columns under ``alias`` and how
    to turn their values into an instance."""

    def __init__(self, model: type[Model], alias: str, names: Sequence[str] = ()) -> None:
        """``names``: only these fields (the instance defers the others), else all."""
        self.model = model
        fields = [model._meta.get_field(n) for n in names] or model._meta.concrete_fields
        self.columns = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
        self.attnames = [f.attname for f in fields]
        self._cols = [f.get_col(alias) for f in fields]
        self._converters: dict[str, list[tuple[int, list[Callable]]]] = {}

    def build(self, values: Sequence[Any]) -> Model | None:
        """The instance from ``values`` (its columns, in order); None for a LEFT JOIN's
        missing row."""
        if values[0] is None:
            return None
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, self.convert(values))

    def convert(self, values: Sequence[Any]) -> list[Any]:
        """``values`` (its columns, in order) as the instance's fields would hold them, for
        reads that need a few fields of many rows and no instance."""
        converted = list(values)
        for i, chain in self._converters_for(connection.vendor):
            for convert in chain:
                converted[i] = convert(converted[i], self._cols[i], connection)
        return converted

    def _converters_for(self, vendor: str) -> list[tuple[int, list[Callable]]]:
        # Per database vendor: they depend on the backend, not on the connection.
        if vendor not in self._converters:
            chains = [
                connection.ops.get_db_converters(c) + c.get_db_converters(connection)
                for c in self._cols
            ]
            self._converters[vendor] = [(i, chain) for i, chain in enumerate(chains) if chain]
        return self._converters[vendor]


def split(row: Sequence[Any], parts: Sequence[Rows]) -> list[Any]:
    """``row`` as one instance per ``parts`` (None for a LEFT JOIN's missing row)."""
    built, start = [], 0
    for part in parts:
        built.append(part.build(row[start : start + len(part.attnames)]))
        start += len(part.attnames)
    return built


def fetch_row(sql: str, params: list[Any]) -> tuple | None:
    """The first row of ``sql`` (None: no row)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_one(sql: str, params: list[Any], parts: Sequence[Rows]) -> list[Any] | None:
    """The first row of ``sql`` split into one instance per ``parts`` (None: no row)."""
    row = fetch_row(sql, params)
    return None if row is None else split(row, parts)


def fetch_all(sql: str, params: list[Any], parts: Sequence[Rows]) -> list[list[Any]]:
    """Every row of ``sql``, each split into one instance per ``parts``."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [split(row, parts) for row in cursor.fetchall()]
