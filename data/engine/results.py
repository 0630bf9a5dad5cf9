"""Query results of another engine, handed back exactly as DuckDB would hand them.

The engine answers in Arrow. The columns are made plain (signed integers, naive timestamps, text), and
DuckDB itself turns the Arrow table into rows or a DataFrame, so `fetchall()`, `fetchone()` and `df()` give
the same Python values and dtypes as the same answer read from the embedded store (dates as `datetime.date`,
NULL integers as pandas' nullable Int64, text as `str` columns ...).
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

_local = threading.local()


def _converter() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB of this thread, used only to convert Arrow tables (never holds data)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
    return con


def _plain_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_unsigned_integer(t):
        return pa.int64()
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pa.timestamp(t.unit)
    if pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.string()
    if pa.types.is_dictionary(t):
        return _plain_type(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_plain_type(t.value_type))
    return t


def plain(table: pa.Table) -> pa.Table:
    """`table` with the engine's own types turned into those DuckDB gives for the same SQL."""
    cols, fields = [], []
    for field, col in zip(table.schema, table.columns, strict=True):
        want = _plain_type(field.type)
        if want != field.type:
            if pa.types.is_timestamp(field.type) and field.type.tz is not None:
                # the store's timestamps are naive wall-clock times kept as UTC (see clickhouse.SETTINGS)
                col = pc.cast(col, pa.timestamp(field.type.unit, tz="UTC")).cast(want)
            elif pa.types.is_dictionary(field.type):
                col = col.cast(field.type.value_type).cast(want)
            else:
                col = col.cast(want)
        cols.append(col)
        fields.append(pa.field(field.name, want, nullable=True))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


class Result:
    """One statement's answer: rows or a DataFrame, converted by DuckDB, read once like a DuckDB cursor's."""

    def __init__(self, table: pa.Table):
        self.table = plain(table)
        self._rows: list | None = None
        self._pos = 0

    @property
    def description(self) -> list[tuple]:
        return [(f.name, str(f.type), None, None, None, None, None) for f in self.table.schema]

    def _all(self) -> list:
        if self._rows is None:
            self._rows = _converter().from_arrow(self.table).fetchall() if self.table.num_columns else []
        return self._rows

    def fetchall(self) -> list[tuple]:
        rows = self._all()[self._pos:]
        self._pos = len(self._all())
        return rows

    def fetchone(self) -> tuple | None:
        rows = self._all()
        if self._pos >= len(rows):
            return None
        self._pos += 1
        return rows[self._pos - 1]

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = self._all()[self._pos:self._pos + size]
        self._pos += len(rows)
        return rows

    def df(self):
        return _converter().from_arrow(self.table).df()

    def arrow(self) -> pa.Table:
        return self.table
