"""A small local frame in a statement on the engine: `con.register(name, frame)` as DuckDB offers it.

Some reads join the store with a list the user brought: a collision list (data/screening/collide.py), the records
a place must lack (data/screening/inaction.py). On DuckDB the frame is registered as a view. The engine has no
view private to one connection, and the store must not be pulled to the list: the list goes to the data. Each
column of the frame travels with the statement as one bound list, and the table's name in the statement becomes
`SELECT unnest($list_1) AS col_1, unnest($list_2) AS col_2, ...` (the lists zipped row by row, as DuckDB
zips several unnests in one SELECT; data/engine/dialect.py writes that for the engine). Values are bound, never
formatted into the SQL; the lists' types come from the frame's column types, so an empty frame still types its
columns. Meant for lists of thousands of rows (a statement's parameters), not for loading tables: that is
`ship` (data/engine/ship.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PREFIX = "__frame_"


@dataclass(frozen=True)
class Typed:
    """A bound value with its engine type given (a frame's column: the type of its dtype, even when empty)."""

    value: list
    type: str


@dataclass(frozen=True)
class Frame:
    columns: tuple[tuple[str, str], ...]   # (column, engine type of one value)
    values: dict[str, list]                # column -> its values (None for missing)


def _engine_type(series: pd.Series) -> str:
    d = series.dtype
    if pd.api.types.is_bool_dtype(d):
        return "Bool"
    if pd.api.types.is_integer_dtype(d):
        return "Int64"
    if pd.api.types.is_float_dtype(d):
        return "Float64"
    if pd.api.types.is_datetime64_any_dtype(d):
        return "DateTime64(6)"
    # an object column: text, or Python dates/booleans with gaps (numbers with gaps are float columns in pandas)
    first = next((v for v in series if v is not None and not (isinstance(v, float) and math.isnan(v))), None)
    kinds = ((bool, "Bool"), (dt.datetime, "DateTime64(6)"), (dt.date, "Date32"))
    return next((name for kind, name in kinds if isinstance(first, kind)), "String")


def _value(v, kind: str):
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None   # NaN is a missing number here, as the reads that use frames treat it (`NOT isnan(x)`)
    if kind == "DateTime64(6)":
        return pd.Timestamp(v).to_pydatetime()
    if kind == "Int64":
        return int(v)
    if kind == "Float64":
        return float(v)
    if kind == "Bool":
        return bool(v)
    return v if kind == "Date32" else str(v)


def frame(data) -> Frame:
    """The frame `data` (a pandas DataFrame) as columns of bound lists."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"the engine registers pandas DataFrames only, not {type(data).__name__}")
    cols, values = [], {}
    for c in data.columns:
        if not _NAME.match(str(c)):
            raise ValueError(f"column name {c!r} cannot be used in a statement")
        kind = _engine_type(data[c])
        cols.append((str(c), kind))
        values[str(c)] = [_value(v, kind) for v in data[c].tolist()]
    return Frame(tuple(cols), values)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"frame name {name!r} cannot be used in a statement")
    return name


def signature(frames: dict[str, Frame]) -> tuple:
    """What a statement's translation depends on in the registered frames: names and column types."""
    return tuple(sorted((n, f.columns) for n, f in frames.items()))


def _param(name: str, column: str) -> str:
    return f"{PREFIX}{name}__{column}"


def params(frames: dict[str, Frame]) -> dict[str, Typed]:
    """Every frame column's bound list, by parameter name."""
    return {_param(n, c): Typed(f.values[c], f"Array(Nullable({kind}))")
            for n, f in frames.items() for c, kind in f.columns}


def substitute(tree: exp.Expression, frames: dict[str, Frame]) -> None:
    """Each table of `tree` named as a registered frame (no database given, not a CTE) becomes its rows."""
    if not frames:
        return
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        name = table.name
        if name not in frames or table.text("db") or name in ctes or not isinstance(table.this, exp.Identifier):
            continue
        f = frames[name]
        rows = exp.select(*(exp.alias_(exp.Explode(this=exp.Placeholder(this=_param(name, c))), c, quoted=True)
                            for c, _kind in f.columns))
        table.replace(exp.Subquery(this=rows, alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name))))
