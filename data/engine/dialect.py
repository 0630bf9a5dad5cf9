"""The product's SQL (written for DuckDB) in another engine's dialect, through sqlglot.

Every query of the product is written once, in DuckDB's SQL with `$name` (or `?`) parameters. An engine
connection (data/engine/clickhouse.py) hands each statement here: sqlglot parses it as DuckDB, the
rewrites below fix what the plain transpilation gets wrong for the engine (checked by the golden tests,
tests/test_engine_golden.py), and the statement comes back in the engine's dialect with typed, bound
parameters (`{name:Type}` for ClickHouse). Values are never formatted into the SQL text.

Where DuckDB and ClickHouse differ in meaning, not only in spelling, the rewrite is here, one rule each:
- `TIMESTAMP` is `DateTime64(6)` (DuckDB keeps microseconds; ClickHouse's `DateTime` would drop them), and
  `DATE` is `Date32` (DuckDB's dates before 1970 and after 2149);
- text functions count characters, not bytes (`substringUTF8`, `leftUTF8`, ...): the texts are Chinese;
- `median`/`quantile_cont` are exact (`quantileExactInclusive`: the same interpolation as DuckDB), not
  ClickHouse's sampled `quantile`;
- `mode(x)` is the most frequent value, ties to the smallest (`topK` would be approximate);
- bit shifts are functions (`bitShiftRight`);
- `current_setting('access_mode')` answers 'read_only' (the dashboard's engine connection never writes).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence

import sqlglot
from sqlglot import exp

READ = "duckdb"


class Untranslatable(ValueError):
    """A statement the engine's dialect cannot express (the message names the construct)."""


# ------------------------------------------------------------------ parameters
def clickhouse_type(value) -> str:
    """The ClickHouse type of a bound parameter, from its Python value."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, dt.datetime):
        return "DateTime64(6)"
    if isinstance(value, dt.date):
        return "Date32"
    if isinstance(value, list | tuple):
        inner = next((clickhouse_type(v) for v in value if v is not None), "String")
        return f"Array(Nullable({inner}))" if any(v is None for v in value) else f"Array({inner})"
    return "String"


def clickhouse_value(value):
    """A parameter value as ClickHouse's query parameters take it (text for dates and arrays)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_array_item(v) for v in value) + "]"
    return value


def _array_item(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float) and not (isinstance(v, float) and not math.isfinite(v)):
        return repr(v)
    text = v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date) else str(v)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _named(params, placeholders: list[exp.Placeholder]) -> dict:
    """Parameters by name; positional `?` parameters become p0, p1, ... in the order they appear."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, Sequence) and not isinstance(params, str):
        values = list(params)
        unnamed = [p for p in placeholders if not p.this]
        if len(unnamed) != len(values):
            raise ValueError(f"{len(values)} parameters for {len(unnamed)} placeholders")
        return {f"p{i}": v for i, v in enumerate(values)}
    raise TypeError(f"parameters must be a mapping or a sequence, not {type(params).__name__}")



# ------------------------------------------------------------------ statements
@functools.lru_cache(maxsize=4096)
def _parse(sql: str) -> tuple[exp.Expression, ...]:
    try:
        return tuple(t for t in sqlglot.parse(sql, read=READ) if t is not None)
    except sqlglot.errors.ParseError as exc:
        raise Untranslatable(f"cannot parse the statement: {exc}") from exc


def parse(sql: str) -> list[exp.Expression]:
    """The statements of `sql` (DuckDB), as trees the caller may change (copies of a cached parse)."""
    return [t.copy() for t in _parse(sql)]


def to_clickhouse(tree: exp.Expression, params=None, extra: Mapping | None = None) -> tuple[str, dict]:
    """One parsed statement (changed in place) as ClickHouse SQL, and its parameters by name.

    `extra`: named parameters the connection itself bound (the scope's districts), besides `params`.
    """
    placeholders = list(tree.find_all(exp.Placeholder))
    values = _named(params, [p for p in placeholders if not (extra and p.this in extra)])
    values.update(extra or {})
    bound: dict = {}
    n_unnamed = 0
    for ph in placeholders:
        name = ph.this
        if not name:
            name, n_unnamed = f"p{n_unnamed}", n_unnamed + 1
        if name not in values:
            raise KeyError(f"no value for parameter ${name}")
        v = values[name]
        if v is None:   # NULL is no value to hide; ClickHouse cannot type a NULL parameter
            ph.replace(exp.Null())
            continue
        ph.replace(exp.Placeholder(this=name, kind=exp.DataType.build(clickhouse_type(v), dialect="clickhouse")))
        bound[name] = clickhouse_value(v)
    tree = tree.transform(_clickhouse_node, copy=False)
    return tree.sql(dialect="clickhouse"), bound


def _anon(name: str, *args) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=[a for a in args if a is not None])


def _param_agg(name: str, params: list, args: list) -> exp.ParameterizedAgg:
    return exp.ParameterizedAgg(this=name, expressions=args, params=params)


_DATETIME64 = None


def _clickhouse_node(node: exp.Expression) -> exp.Expression:
    global _DATETIME64
    if isinstance(node, exp.DataType):
        if node.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
            if _DATETIME64 is None:
                _DATETIME64 = exp.DataType.build("DateTime64(6)", dialect="clickhouse")
            return _DATETIME64.copy()
        if node.this == exp.DataType.Type.DATE:
            return exp.DataType.build("Date32", dialect="clickhouse")
        return node
    if isinstance(node, exp.Substring):
        return _anon("substringUTF8", node.this, node.args.get("start") or exp.Literal.number(1),
                     node.args.get("length"))
    if isinstance(node, exp.Left):
        return _anon("leftUTF8", node.this, node.expression)
    if isinstance(node, exp.Right):
        return _anon("rightUTF8", node.this, node.expression)
    if isinstance(node, exp.Lower):
        return _anon("lowerUTF8", node.this)
    if isinstance(node, exp.Upper):
        return _anon("upperUTF8", node.this)
    if isinstance(node, exp.BitwiseRightShift):
        return _anon("bitShiftRight", node.this, node.expression)
    if isinstance(node, exp.BitwiseLeftShift):
        return _anon("bitShiftLeft", node.this, node.expression)
    if isinstance(node, exp.Median):
        return _param_agg("quantileExactInclusive", [exp.Literal.number(0.5)], [node.this])
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        return _param_agg("quantileExactInclusive", [node.expression], [node.this])
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression.expressions[0].this
        return _param_agg("quantileExactInclusive", [node.this.this], [order])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "mode":
        # the most frequent value, ties to the smallest: DuckDB's mode() on these columns
        return exp.Bracket(this=_param_agg("topKWeighted", [exp.Literal.number(1), exp.Literal.number(0),
                                                                exp.Literal.string("counts")], [node.expressions[0]]),
                           expressions=[exp.Literal.number(1)])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "current_setting":
        arg = node.expressions[0] if node.expressions else None
        if isinstance(arg, exp.Literal) and arg.this == "access_mode":
            return exp.Literal.string("read_only")
    return node
