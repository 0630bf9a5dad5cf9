"""Merging the checked rows into the store by key: new rows inserted, changed ones replaced, the rest left."""

from __future__ import annotations

from data.ingest.accounting import ImportReport, now
from data.ingest.fields import Kind
from data.ingest.statements import store_columns


def merge(con, rep: ImportReport, K: Kind) -> bool:
    """Insert new rows, replace changed ones, leave identical ones; returns whether anything changed."""
    key, table = K.key, K.table  # names from the field table, never from input
    cols = store_columns(K)
    con.execute("CREATE OR REPLACE TEMP VIEW _final AS SELECT * FROM _clean WHERE _reason IS NULL AND NOT _dup")
    sql = f"""
    CREATE OR REPLACE TEMP TABLE _cmp AS
    SELECT f.{key} AS k, bool_or(t.{key} IS NOT NULL) AS existed,
           bool_or(t.{key} IS NOT NULL AND t.row_hash IS DISTINCT FROM f.row_hash) AS changed
    FROM _final f LEFT JOIN {table} t ON t.{key} = f.{key}
    GROUP BY f.{key}
    """
    con.execute(sql)
    ins, upd, same = con.execute(
        "SELECT count(*) FILTER (NOT existed), count(*) FILTER (changed), count(*) FILTER (existed AND NOT changed) "
        "FROM _cmp").fetchone()
    (dups,) = con.execute("SELECT count(*) FROM _clean WHERE _reason IS NULL AND _dup").fetchone()
    rep.inserted, rep.updated, rep.unchanged = int(ins), int(upd), int(same) + int(dups)
    sql = f"CREATE OR REPLACE TEMP TABLE _changed_ids AS SELECT k AS {key} FROM _cmp WHERE NOT existed OR changed"
    con.execute(sql)  # key is one of KEYS' fixed column names
    if not ins and not upd:
        return False
    if K.name == "tickets":
        # the updated tickets as they were: the derived tables must lose what they counted for them
        sql = "CREATE OR REPLACE TEMP TABLE _changed_old AS SELECT * FROM tickets WHERE ticket_id IN " \
              "(SELECT k FROM _cmp WHERE changed)"
        con.execute(sql)
    if upd:
        sql = f"DELETE FROM {table} WHERE {key} IN (SELECT k FROM _cmp WHERE changed)"
        con.execute(sql)
    # rows keep the file's order (exports come sorted by time, which keeps DuckDB's zonemaps useful);
    # sorting a million wide rows here would cost more than the whole cleaning of a chunk
    if ins and not upd and not same:
        where = ""  # everything is new: no need to look the ids up again
    else:
        where = f"WHERE {key} IN (SELECT {key} FROM _changed_ids)"
    sql = f"""
    INSERT INTO {table} ({', '.join(cols)}, row_hash, import_id, updated_at)
    SELECT {', '.join(cols)}, row_hash, $import_id, $now FROM _final {where}
    """
    con.execute(sql, {"import_id": rep.import_id, "now": now()})
    if K.name == "clues":
        sql = "DELETE FROM clue_tickets WHERE clue_id IN (SELECT clue_id FROM _changed_ids)"
        con.execute(sql)
        sql = """
        INSERT INTO clue_tickets (clue_id, ticket_id, import_id)
        SELECT DISTINCT clue_id, unnest(ticket_ids), $import_id FROM _final
        WHERE clue_id IN (SELECT clue_id FROM _changed_ids)
        """
        con.execute(sql, {"import_id": rep.import_id})
    return True


def flag_counts(con, K: Kind) -> dict[str, int]:
    cols = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE _clean)").fetchall() if r[0].startswith("_f_")]
    if not cols:
        return {}
    sql = ("SELECT " + ", ".join(f"count(*) FILTER ({c})" for c in cols)
           + " FROM _clean WHERE _reason IS NULL AND NOT _dup")
    vals = con.execute(sql).fetchone()
    return {c[3:]: int(v) for c, v in zip(cols, vals, strict=True) if v}
