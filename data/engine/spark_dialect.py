"""The product's SQL (written for DuckDB) in Spark SQL, through sqlglot (duckdb -> spark) and the rules below.

The statement arrives parsed, checked and with its tables named (data/engine/cursor.py: the same steps as for
ClickHouse, data/engine/dialect.py); here each store table becomes its view in the Spark session
(data/engine/spark.py), the parameters become Spark's named parameters (`:name`, bound by `spark.sql(args=)`),
and the rules fix what the plain transpilation gets wrong for Spark — one function each, the reason beside it.
The golden tests (tests/test_engine_spark.py) run every analytics function on both engines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sqlglot import exp

from data.engine import dialect
from data.engine.frames import Typed

WRITE = "spark"


def _plain(v):
    # numpy scalars (a grid step, a count computed in pandas) are not literals to Spark: their Python value
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        return v.item()
    return v


def spark_values(values: Mapping) -> dict:
    """Bound values as Spark's `args` take them (Python literals; lists become arrays)."""
    out = {}
    for k, v in values.items():
        if isinstance(v, Typed):   # a registered frame's column (data/engine/frames.py)
            v = v.value
        out[k] = [_plain(x) for x in v] if isinstance(v, list | tuple) else _plain(v)
    return out


def view_name(database: str, table: str, city: str = "") -> str:
    """The temporary view of a store table on Spark (a city-limited connection has views of its own)."""
    tag = f"c{hashlib.sha1(city.encode('utf-8')).hexdigest()[:10]}__" if city else ""
    return f"{database}__{tag}{table}"


def to_spark(tree: exp.Expression, params=None, extra: Mapping | None = None, database: str = "",
             city: str = "", columns: Mapping[str, list[str]] | None = None) -> tuple[str, list[str]]:
    """One prepared statement (changed in place) as Spark SQL, and the names of the parameters it binds.
    `columns`: the store's tables and their columns in order (for the rules that spell out a `*`)."""
    bound: list[str] = []

    def place(ph: exp.Placeholder, name: str, v) -> None:
        kind = "String"
        if isinstance(v, Typed):
            v, kind = v.value, v.type
        if isinstance(v, list | tuple) and not v:
            ph.replace(_empty_array(kind))
            return
        ph.replace(exp.Placeholder(this=name))
        if name not in bound:
            bound.append(name)

    dialect.bind(tree, params, extra, place)
    for select in list(tree.find_all(exp.Select)):
        _star_replace(select, database, columns or {})
    for table in list(tree.find_all(exp.Table)):
        if database and table.text("db") == database:
            alias = table.args.get("alias")
            new = exp.Table(this=exp.to_identifier(view_name(database, table.name, city)))
            if alias is None:
                alias = exp.TableAlias(this=exp.to_identifier(table.name))
            new.set("alias", alias)
            table.replace(new)
    tree = tree.transform(_spark_node, copy=False)
    return tree.sql(dialect=WRITE), bound


# a frame column's engine type (data/engine/frames.py, ClickHouse's names) as Spark's
_SPARK_TYPES = {"Int64": "BIGINT", "Float64": "DOUBLE", "Bool": "BOOLEAN", "DateTime64(6)": "TIMESTAMP_NTZ",
                "Date32": "DATE", "String": "STRING"}


def _star_replace(select: exp.Select, database: str, columns: Mapping[str, list[str]]) -> None:
    """`SELECT * REPLACE (NULL AS content, ...) FROM store_table` (data/scope.py: a scope that may not read ticket
    texts): Spark has no REPLACE; spell out the table's columns in order, the replaced ones by their expressions."""
    from data.engine import scoped

    stars = [p for p in select.expressions if isinstance(p, exp.Star) and p.args.get("replace")]
    if not stars:
        return
    name = stars[0].meta.get(scoped.STAR_OF)
    if name is None:    # written by hand: the star of the one store table the SELECT reads
        source = select.args.get("from_") or select.args.get("from")
        table = source.this if source is not None else None
        if isinstance(table, exp.Table) and table.text("db") == database and not select.args.get("joins"):
            name = table.name
    if name not in columns or len(stars) != 1 or len(select.expressions) != 1:
        raise dialect.Untranslatable("SELECT * REPLACE over anything but one store table")
    new = {a.alias: a.this for a in stars[0].args["replace"]}
    select.set("expressions", [exp.alias_(new[c].copy(), exp.to_identifier(c, quoted=True)) if c in new
                               else exp.column(c, quoted=True) for c in columns[name]])


def _empty_array(kind: str = "String") -> exp.Expression:
    # Spark cannot type an empty bound list (array<void>): an empty array of the column's type (text when the
    # list came without one: the product's lists of districts, ids, words are text)
    inner = _SPARK_TYPES.get(kind, "STRING")
    return exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build(f"ARRAY<{inner}>", dialect=WRITE))


def _anon(name: str, *args) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=[a for a in args if a is not None])


def _spark_node(node: exp.Expression) -> exp.Expression:
    fixed = dialect.read_only_setting(node)
    if fixed is not None:
        return fixed
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _series(node)
    if dialect.union_by_position(node):
        return node
    if isinstance(node, exp.Unnest) and isinstance(node.args.get("alias"), exp.Identifier):
        # `SELECT unnest(list) AS name` built as a tree (data/engine/scoped.py: the scope's districts): sqlglot
        # writes Spark's EXPLODE(list, name); the name is the output's alias
        name = node.args["alias"]
        return exp.alias_(exp.Explode(this=node.expressions[0]), name.copy())
    if isinstance(node, exp.Mode) or (isinstance(node, exp.Anonymous) and str(node.this).lower() == "mode"):
        # mode(x): Spark's MODE picks any of the tied values unless asked to be deterministic (the smallest),
        # which is the rule the ClickHouse form follows too
        value = node.this if isinstance(node, exp.Mode) else node.expressions[0]
        return _anon("MODE", value, exp.true())
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        # quantile_cont(x, q) / (x, [q1, q2]): Spark's PERCENTILE is exact with DuckDB's linear interpolation
        return _anon("PERCENTILE", node.this, node.expression)
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Split | exp.Array | exp.ArrayAgg):
        # len(string_split(..)) / len(list): a list's length is SIZE in Spark (LENGTH takes text only)
        return _anon("SIZE", node.this)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Div) and not _is_double(node.this):
        # `a / b` is a DOUBLE in DuckDB whatever a and b are; Spark divides decimals as decimals (`/ 86400.0`
        # rounded a median of days to 7 digits): divide a double
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE")))
        return node
    if isinstance(node, exp.Avg) and not _is_double(node.this):
        # avg(decimal) is a DOUBLE in DuckDB, a DECIMAL in Spark
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE")))
        return node
    if isinstance(node, exp.DayOfWeekIso):
        # isodow(d): Monday 1 .. Sunday 7. sqlglot writes (DAYOFWEEK(d) % 7) + 1, which is Sunday 2 .. Saturday 1;
        # Spark's WEEKDAY is Monday 0 .. Sunday 6
        return exp.Paren(this=exp.Add(this=_anon("WEEKDAY", node.this), expression=exp.Literal.number(1)))
    if isinstance(node, exp.ArgMax | exp.ArgMin) and node.args.get("count") is not None:
        return _top_by(node)
    if isinstance(node, exp.Select):
        _using_with_star(node)
        _zip_unnests(node)
        return node
    return node


def _is_double(e: exp.Expression) -> bool:
    return isinstance(e, exp.Cast) and e.to.is_type(exp.DataType.Type.DOUBLE)


def _zip_unnests(select: exp.Select) -> None:
    """`SELECT unnest(a) AS x, unnest(b) AS y` (no FROM): DuckDB zips the lists (row i holds a[i], b[i]); Spark
    would take every pair. Each becomes element i of its list, over the positions 0 .. longest - 1 (a shorter
    list gives NULL there, as in DuckDB)."""
    unnests = [e for p in select.expressions for e in p.find_all(exp.Explode)
               if e.find_ancestor(exp.Select) is select]
    if len(unnests) < 2 or select.args.get("from_") or select.args.get("from"):
        return
    i = exp.to_identifier("__i")
    n = _anon("GREATEST", *(_anon("SIZE", u.this.copy()) for u in unnests))
    last = exp.Sub(this=_anon("GREATEST", n.copy(), exp.Literal.number(1)), expression=exp.Literal.number(1))
    keep = exp.Lambda(this=exp.LT(this=exp.column(i), expression=n), expressions=[i.copy()])
    positions = _anon("EXPLODE", _anon("FILTER", _anon("SEQUENCE", exp.Literal.number(0), last), keep))
    for u in unnests:
        u.replace(_anon("GET", u.this.copy(), exp.column(i)))
    select.from_(exp.select(exp.alias_(positions, i)).subquery("__positions"), copy=False)


def _top_by(node: exp.ArgMax | exp.ArgMin) -> exp.Expression:
    """`max_by(x, key, n)` / `min_by(x, key, n)`: the list of the n values of x with the largest (smallest) keys, in
    that order. Spark's MAX_BY takes no n: sort the (key, x) pairs and keep the first n values."""
    pairs = _anon("COLLECT_LIST", _anon("STRUCT", exp.alias_(node.expression.copy(), "k"), exp.alias_(node.this.copy(), "v")))
    ordered = _anon("ARRAY_SORT", pairs)
    if isinstance(node, exp.ArgMax):
        ordered = _anon("REVERSE", ordered)
    s = exp.to_identifier("s")
    values = _anon("TRANSFORM", ordered, exp.Lambda(this=exp.Dot(this=exp.column(s), expression=exp.to_identifier("v")),
                                                    expressions=[s.copy()]))
    return _anon("SLICE", values, exp.Literal.number(1), node.args["count"].copy())


def _series(table: exp.Table) -> exp.Expression:
    """DuckDB's `range(a, b, step) r(d)` (end excluded) / `generate_series` (end included) as a subquery: Spark's
    SEQUENCE includes its end and fails when the end is before the start, so the end is kept at or after the
    start and the values past the range filtered out."""
    g: exp.GenerateSeries = table.this
    start, end, step = g.args["start"], g.args["end"], g.args.get("step")
    alias = table.args.get("alias")
    col = alias.columns[0].name if alias is not None and alias.columns else "range"
    x = exp.to_identifier("x")
    keep = (exp.LT if g.args.get("is_end_exclusive") else exp.LTE)(this=exp.column(x), expression=end.copy())
    seq = _anon("SEQUENCE", start.copy(), _anon("GREATEST", start.copy(), end.copy()), step.copy() if step else None)
    values = _anon("EXPLODE", _anon("FILTER", seq, exp.Lambda(this=keep, expressions=[x.copy()])))
    sub = exp.select(exp.alias_(values, exp.to_identifier(col))).subquery(
        alias=alias.name if alias is not None and alias.name else "r")
    return sub


def _using_with_star(select: exp.Select) -> None:
    """`SELECT k.key, t.* FROM t JOIN k USING (a, b)`: DuckDB's `t.*` is t's columns in t's order; Spark puts the
    USING columns first, so two such SELECTs in a UNION no longer line up. Join ON the columns instead (each
    unqualified use of a USING column then names the left table's, which is the value USING gives)."""
    joins = select.args.get("joins") or []
    if len(joins) != 1 or not joins[0].args.get("using"):
        return
    if not any(isinstance(p, exp.Column) and isinstance(p.this, exp.Star) and p.table for p in select.expressions):
        return
    left, right = (select.args.get("from_") or select.args.get("from")).this, joins[0].this
    lname, rname = left.alias_or_name, right.alias_or_name
    names = [u.name for u in joins[0].args["using"]]
    on = exp.and_(*(exp.EQ(this=exp.column(n, lname), expression=exp.column(n, rname)) for n in names))
    joins[0].set("using", None)
    joins[0].set("on", on)
    for col in select.find_all(exp.Column):
        if col.name in names and not col.table and col.find_ancestor(exp.Select) is select:
            col.set("table", exp.to_identifier(lname))


def _ordered_list(order: exp.Order) -> exp.Expression:
    """`list(x ORDER BY k)` / `list(DISTINCT x ORDER BY x)`: Spark's COLLECT_LIST keeps no order; sort the
    (k, x) pairs and keep x."""
    inner = order.this
    distinct = isinstance(inner, exp.Distinct)
    value = inner.expressions[0] if distinct else inner
    if len(order.expressions) != 1:
        raise dialect.Untranslatable("list(... ORDER BY) with more than one key")
    key = order.expressions[0]
    desc = bool(key.args.get("desc"))
    if distinct:
        if key.this != value:
            raise dialect.Untranslatable("list(DISTINCT x ORDER BY another key)")
        out = _anon("ARRAY_SORT", _anon("COLLECT_SET", value))
        return _anon("REVERSE", out) if desc else out
    pairs = _anon("COLLECT_LIST", _anon("STRUCT", exp.alias_(key.this, "k"), exp.alias_(value, "v")))
    s = exp.to_identifier("s")
    sorted_pairs = _anon("ARRAY_SORT", pairs)
    if desc:
        sorted_pairs = _anon("REVERSE", sorted_pairs)
    return _anon("TRANSFORM", sorted_pairs, exp.Lambda(this=exp.Dot(this=exp.column(s), expression=exp.to_identifier("v")),
                                                       expressions=[s.copy()]))


