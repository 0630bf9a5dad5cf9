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
- several `unnest(list)` in one SELECT are zipped, as in DuckDB (`arrayJoin(arrayZip(...))`), not multiplied;
- `UNION ALL BY NAME` (the ledger overlay) matches by position: the overlay tables repeat the store's column order;
- `string_agg(x, sep ORDER BY k)` (and DISTINCT) joins the ordered list (`arrayStringConcat`);
- `max_by(x, key, n)` / `min_by(x, key, n)` (a list of the top n) sort the pairs (ClickHouse's argMax has no n);
- `current_setting('access_mode')` answers 'read_only' (the dashboard's engine connection never writes).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence

import sqlglot
from sqlglot import exp

from data.engine.frames import Typed

READ = "duckdb"


class Untranslatable(ValueError):
    """A statement the engine's dialect cannot express (the message names the construct)."""


class ReadOnly(NotImplementedError):
    """A statement that would write (a table, a temporary table) on the engine: the dashboard's engine
    connection only reads; the store is loaded by `ship` (data/engine/ship.py)."""


# A statement that needs its own form on ClickHouse (not only another spelling): DuckDB text -> the engine's
# form, kept beside the DuckDB form in the module that runs it (`own_form`), and compared by the golden tests.
OWN_FORMS: dict[str, str] = {}


def own_form(duckdb_sql: str, clickhouse_sql: str) -> str:
    """Register the ClickHouse form of a statement (written in DuckDB's syntax, with ClickHouse's functions:
    it goes through the same table naming, scope and rewrites); returns the DuckDB form."""
    OWN_FORMS[duckdb_sql] = clickhouse_sql
    return duckdb_sql


# The clue ledger overlay's tables (data/ledger/overlay_sql.py): on the engine, tables of the store of the same
# shape (made by ship, empty: the app's own ledger is not laid over the engine's clue tables yet).
OVERLAY_PREFIX = "ledger_ov_"

WRITES = (exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Alter, exp.Merge)
# DuckDB table functions with no ClickHouse form here yet
TABLE_FUNCTIONS_MISSING = {"json_each", "json_tree", "read_csv", "read_parquet", "read_json"}


def check(tree: exp.Expression) -> None:
    """Refuse, with a clear error, what the engine connection does not run (before any rewrite)."""
    if isinstance(tree, WRITES):
        raise ReadOnly(f"the engine connection is read-only: {tree.key.upper()} is not run there")
    for table in tree.find_all(exp.Table):
        if table.text("catalog").lower() == "temp" and not table.name.lower().startswith(OVERLAY_PREFIX):
            raise ReadOnly(f"temporary table {table.name} of a DuckDB cursor is not available on the engine")
        if isinstance(table.this, exp.Anonymous) and str(table.this.this).lower() in TABLE_FUNCTIONS_MISSING:
            raise Untranslatable(f"DuckDB's table function {table.this.this}() has no ClickHouse form here")


# ------------------------------------------------------------------ parameters
def clickhouse_type(value) -> str:
    """The ClickHouse type of a bound parameter, from its Python value (or the type it was given)."""
    if isinstance(value, Typed):
        return value.type
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
    if isinstance(value, Typed):
        return clickhouse_value(value.value)
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


def signature(params) -> tuple:
    """What a statement's translation depends on in its parameters: names (or positions) and types."""
    def kind(v):
        return "NULL" if v is None else clickhouse_type(v)

    if params is None:
        return ()
    if isinstance(params, Mapping):
        return tuple(sorted((str(k), kind(v)) for k, v in params.items()))
    return tuple(kind(v) for v in params)


def named_values(params) -> dict:
    """Parameter values by the names the translation gives them (positional ones: p0, p1, ...)."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    return {f"p{i}": v for i, v in enumerate(params)}


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
    tree = tree.transform(_translated, copy=False)
    return tree.sql(dialect="clickhouse"), bound


def _anon(name: str, *args) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=[a for a in args if a is not None])


def _param_agg(name: str, params: list, args: list) -> exp.ParameterizedAgg:
    # sqlglot writes ParameterizedAgg as `this(expressions)(params)`: ClickHouse's `name(params)(args)`
    return exp.ParameterizedAgg(this=name, expressions=params, params=args)


_DATETIME64 = None


def _translated(node: exp.Expression) -> exp.Expression:
    """`node` in the engine's form, its children too: sqlglot's `transform` does not visit the children of a
    node it replaced (`lower(regexp_replace(...))` would keep DuckDB's regexp_replace), so they are done here,
    each once."""
    new = _clickhouse_node(node)
    if new is not node:
        for child in list(new.iter_expressions()):
            done = child.transform(_translated, copy=False)
            if done is not child:
                child.replace(done)
    return new


def _clickhouse_node(node: exp.Expression) -> exp.Expression:
    global _DATETIME64
    if isinstance(node, exp.DataType):
        if node.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.DATETIME):
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
        if isinstance(node.expression, exp.Array):   # quantile_cont(x, [0.5, 0.9]): a list of quantiles
            return _param_agg("quantilesExactInclusive", list(node.expression.expressions), [node.this])
        return _param_agg("quantileExactInclusive", [node.expression], [node.this])
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression.expressions[0].this
        return _param_agg("quantileExactInclusive", [node.this.this], [order])
    if isinstance(node, exp.Mode) or (isinstance(node, exp.Anonymous) and str(node.this).lower() == "mode"):
        return _mode(node.this if isinstance(node, exp.Mode) else node.expressions[0])
    if isinstance(node, exp.LogicalOr):
        return exp.Max(this=node.this)
    if isinstance(node, exp.LogicalAnd):
        return exp.Min(this=node.this)
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Split | exp.Array | exp.ArrayAgg):
        return _anon("length", node.this)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order):
        # string_agg(x, sep ORDER BY k): the ordered list joined (NULLs left out, as both engines do)
        sep = node.args.get("separator") or exp.Literal.string(",")
        return _anon("arrayStringConcat", _ordered_list(node.this), sep)
    if isinstance(node, exp.Case) and node.this is not None:
        # `CASE x WHEN y`: ClickHouse matches a NULL x with a NULL y; in SQL (DuckDB) NULL matches nothing
        operand = node.this
        for branch in node.args.get("ifs") or []:
            branch.set("this", exp.EQ(this=operand.copy(), expression=branch.this))
        node.set("this", None)
        return node
    if isinstance(node, exp.ArgMax | exp.ArgMin) and node.args.get("count") is not None:
        return _top_by(node)
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        # `UNION ALL BY NAME` (the ledger overlay's union, data/ledger/overlay_sql.py): ClickHouse matches by
        # position; the engine's overlay tables have the store tables' columns in the same order
        # (data/engine/ledger.create makes them from the same column list)
        node.set("by_name", None)
        return node
    if isinstance(node, exp.RegexpReplace):
        # DuckDB replaces the first match unless told 'g' (all); ClickHouse has one function for each
        mods = node.args.get("modifiers")
        every = isinstance(mods, exp.Literal) and "g" in mods.name
        return _anon("replaceRegexpAll" if every else "replaceRegexpOne", node.this, node.expression,
                     node.args.get("replacement") or exp.Literal.string(""))
    if isinstance(node, exp.SHA2) and node.text("length") in ("", "256"):
        # DuckDB's sha256(x) is lower-case hex text; ClickHouse's SHA256 gives the 32 raw bytes
        return exp.Lower(this=exp.Hex(this=_anon("SHA256", node.this)))
    if isinstance(node, exp.TimeToUnix):
        # DuckDB's epoch(ts): seconds since 1970 as a DOUBLE, fraction kept (DateTime64(6) in microseconds)
        return exp.Div(this=_anon("toUnixTimestamp64Micro", node.this),
                       expression=exp.Literal.number(1_000_000))
    if isinstance(node, exp.Mul) and (step := _interval_step(node)) is not None:
        return step
    if isinstance(node, exp.Select):
        _order_by_outputs(node)
        _name_projections(node)
        _zip_unnests(node)
        return node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _series(node)
    if isinstance(node, exp.Concat | exp.ConcatWs | exp.DPipe):
        for arg in node.expressions if isinstance(node, exp.Concat | exp.ConcatWs) else (node.this, node.expression):
            if not isinstance(arg, exp.Literal):
                arg.replace(_as_text(arg.copy()))
        return node
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES):
        return _as_text(node.this)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "current_setting":
        arg = node.expressions[0] if node.expressions else None
        if isinstance(arg, exp.Literal) and arg.this == "access_mode":
            return exp.Literal.string("read_only")
    return node


# ------------------------------------------------------------------ rules with a form of their own
def _interval_step(node: exp.Mul) -> exp.Expression | None:
    """`n * INTERVAL 1 DAY` (a rule's window in days, data/screening/compile.py): ClickHouse multiplies no
    interval by a number; `toIntervalDay(n * 1)` is the same span."""
    for amount, interval in ((node.this, node.expression), (node.expression, node.this)):
        if isinstance(interval, exp.Interval) and isinstance(interval.this, exp.Literal):
            unit = interval.text("unit").upper()
            if unit in ("SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "YEAR"):
                step = exp.Mul(this=amount, expression=exp.Literal.number(interval.this.name))
                return _anon(f"toInterval{unit.capitalize()}", step)
    return None


def _name_projections(select: exp.Select) -> None:
    """`SELECT t.street` is named `street` in DuckDB but `t.street` in ClickHouse: name it explicitly."""
    for i, col in enumerate(select.expressions):
        if isinstance(col, exp.Column) and col.table and not isinstance(col.this, exp.Star):
            select.expressions[i] = exp.alias_(col, exp.to_identifier(col.name, quoted=True))
            select.expressions[i].parent = select


_TS_TEXT = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.0+$"


def _as_text(value: exp.Expression) -> exp.Expression:
    """A value as text, written as DuckDB writes it: a whole-second timestamp without its `.000000`
    (ClickHouse's DateTime64(6) text always carries the six digits; a fingerprint compares the two)."""
    text = _anon("toString", value)
    is_time = exp.Like(this=_anon("toTypeName", value.copy()), expression=exp.Literal.string("%DateTime64%"))
    strip = _anon("replaceRegexpOne", text.copy(), exp.Literal.string(_TS_TEXT), exp.Literal.string("\\1"))
    return exp.If(this=is_time, true=strip, false=text)


def _ordered_list(order: exp.Order) -> exp.Expression:
    """DuckDB's `list(x ORDER BY key)` / `list(DISTINCT x ORDER BY x)` as ClickHouse array functions."""
    inner = order.this
    distinct = isinstance(inner, exp.Distinct)
    value = inner.expressions[0] if distinct else inner
    keys = order.expressions
    directions = {bool(k.args.get("desc")) for k in keys}
    if len(directions) != 1:
        raise Untranslatable("list(... ORDER BY) with keys sorted in different directions")
    sort = "arrayReverseSort" if directions.pop() else "arraySort"
    if distinct:
        if len(keys) != 1 or keys[0].this != value:
            raise Untranslatable("list(DISTINCT x ORDER BY another key)")
        return _anon(sort, _anon("groupUniqArray", value))
    pairs = _anon("groupArray", exp.Tuple(expressions=[value, *(k.this for k in keys)]))

    def item(i: int) -> exp.Expression:
        return exp.Dot(this=exp.to_identifier("p"), expression=exp.Literal.number(i))

    # several keys: the tuple of them (tuples sort by their first element, then the next, as ORDER BY does)
    by = item(2) if len(keys) == 1 else exp.Tuple(expressions=[item(i + 2) for i in range(len(keys))])
    by_key = exp.Lambda(this=by, expressions=[exp.to_identifier("p")])
    first = exp.Lambda(this=exp.Dot(this=exp.to_identifier("p"), expression=exp.Literal.number(1)),
                       expressions=[exp.to_identifier("p")])
    return _anon("arrayMap", first, _anon(sort, by_key, pairs))


def _series(table: exp.Table) -> exp.Expression:
    """DuckDB's `range(a, b, INTERVAL n DAY) r(d)` (or generate_series, end included) as a subquery."""
    g: exp.GenerateSeries = table.this
    step = g.args.get("step")
    if not (isinstance(step, exp.Interval) and step.text("unit").upper() in ("DAY", "DAYS")):
        raise Untranslatable("a series with a step other than INTERVAL n DAY")
    n = int(step.this.name)
    start, end = g.args["start"], g.args["end"]
    days = _anon("dateDiff", exp.Literal.string("day"), start.copy(), end.copy())
    if not g.args.get("is_end_exclusive"):
        days = exp.Add(this=days, expression=exp.Literal.number(1))
    count = _anon("toUInt64", _anon("greatest", exp.Paren(this=days), exp.Literal.number(0)))
    alias = table.args.get("alias")
    col = alias.columns[0].name if alias is not None and alias.columns else "range"
    i = exp.to_identifier("i")
    value = exp.Add(this=start.copy(), expression=_anon("toIntervalDay", exp.Mul(this=exp.column(i), expression=exp.Literal.number(n))))
    inner = exp.select(_anon("arrayJoin", _anon("range", _anon("intDivOrZero", exp.Paren(this=exp.Sub(
        this=exp.Add(this=count, expression=exp.Literal.number(n)), expression=exp.Literal.number(1))),
        exp.Literal.number(n)))).as_(i))
    sub = exp.select(exp.alias_(value, exp.to_identifier(col, quoted=True))).from_(inner.subquery())
    return exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier(alias.name if alias else "r")))


def _zip_unnests(select: exp.Select) -> None:
    """`SELECT unnest(a) AS x, unnest(b) AS y`: DuckDB zips the lists (row i holds a[i], b[i]); ClickHouse's
    `arrayJoin`s of different arrays would multiply (every pair). Each becomes element i of one
    `arrayJoin(arrayZip(a, b))` (the same expression, joined once)."""
    unnests = [e for p in select.expressions for e in p.find_all(exp.Explode)
               if e.find_ancestor(exp.Select) is select]
    if len(unnests) < 2:
        return
    zipped = _anon("arrayJoin", _anon("arrayZip", *(u.this.copy() for u in unnests)))
    for i, u in enumerate(unnests, start=1):
        u.replace(_anon("tupleElement", zipped.copy(), exp.Literal.number(i)))


def _top_by(node: exp.ArgMax | exp.ArgMin) -> exp.Expression:
    """DuckDB's `max_by(x, key, n)` (`min_by`): the list of the `n` values of x with the largest (smallest) keys,
    in that order. ClickHouse's argMax takes no n: sort the (x, key) pairs by key and keep the first n."""
    p = exp.to_identifier("p")
    pairs = _anon("groupArray", exp.Tuple(expressions=[node.this, node.expression]))
    by_key = exp.Lambda(this=exp.Dot(this=exp.column(p), expression=exp.Literal.number(2)), expressions=[p.copy()])
    first = exp.Lambda(this=exp.Dot(this=exp.column(p), expression=exp.Literal.number(1)), expressions=[p.copy()])
    sort = "arrayReverseSort" if isinstance(node, exp.ArgMax) else "arraySort"
    return _anon("arraySlice", _anon("arrayMap", first, _anon(sort, by_key, pairs)), exp.Literal.number(1),
                 node.args["count"])


def _mode(value: exp.Expression) -> exp.Expression:
    """DuckDB's mode(x): the most frequent value, exactly (ClickHouse's topK is a sketch); ties to the
    smallest value; NULL when there is no value."""
    values = _anon("groupArray", value)
    u = exp.to_identifier("u")
    key = exp.Lambda(this=exp.Tuple(expressions=[exp.Neg(this=_anon("countEqual", values.copy(), exp.column(u))),
                                                 exp.column(u)]), expressions=[u])
    best = _anon("arrayElement", _anon("arraySort", key, _anon("arrayDistinct", values.copy())), exp.Literal.number(1))
    return exp.If(this=_anon("empty", values.copy()), true=exp.Null(), false=best)


def _order_by_outputs(select: exp.Select) -> None:
    """ORDER BY a name the SELECT gives (`sum(n) AS n ... ORDER BY n`) sorts by that output in DuckDB; ClickHouse,
    set to prefer columns to aliases (as WHERE and the aggregates must), would read the column: sort by the
    output's expression instead."""
    order = select.args.get("order")
    if order is None:
        return
    outputs = {p.alias: p.this for p in select.expressions
               if isinstance(p, exp.Alias) and not (isinstance(p.this, exp.Column) and p.this.name == p.alias
                                                    and not p.this.table)}
    if not outputs:
        return
    for key in order.expressions:
        target = key.this
        if isinstance(target, exp.Column) and not target.table and target.name in outputs:
            target.replace(outputs[target.name].copy())
