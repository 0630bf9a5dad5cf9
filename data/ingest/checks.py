"""Checks across rows (duplicates of a key, references to other tables) and the quarantine they feed."""

from __future__ import annotations

import json

from data.ingest import readers
from data.ingest.accounting import ImportReport, now
from data.ingest.fields import Kind


def verify(con, K: Kind, *, check_references: bool = True) -> None:
    """Checks across rows: conflicting and exact duplicates of a key, and references to other tables."""
    key = K.key  # a column name from the field table
    sql = f"""
    CREATE OR REPLACE TEMP TABLE _dups AS
    SELECT {key} AS k, count(DISTINCT row_hash) AS versions, min(_row) AS first_row,
           list(_row ORDER BY _row) AS rows
    FROM _clean WHERE _reason IS NULL GROUP BY {key} HAVING count(*) > 1
    """
    con.execute(sql)
    label = K.field(key).headers[0]
    sql = f"""
    UPDATE _clean SET _reason = 'conflicting_duplicate',
        _detail = '{label} ' || d.k || ' 在本文件中出现 ' || len(d.rows) || ' 次且内容不同（第 '
                  || array_to_string(list_slice(d.rows, 1, 10), '、') || ' 行）'
    FROM _dups d WHERE _clean.{key} = d.k AND d.versions > 1 AND _clean._reason IS NULL
    """
    con.execute(sql)
    sql = f"""
    UPDATE _clean SET _dup = true
    FROM _dups d WHERE _clean.{key} = d.k AND d.versions = 1 AND _clean._row <> d.first_row
          AND _clean._reason IS NULL
    """
    con.execute(sql)
    if not check_references:
        return
    if K.name == "cases":
        sql = """
        UPDATE _clean SET _reason = 'unknown_clue', _detail = '线索编号 ' || clue_id || ' 不在线索表中（请先导入线索）'
        WHERE _reason IS NULL AND NOT EXISTS (SELECT 1 FROM clues c WHERE c.clue_id = _clean.clue_id)
        """
        con.execute(sql)
    if K.name == "rectifications":
        sql = """
        UPDATE _clean SET _reason = 'unknown_case', _detail = '案件编号 ' || case_id || ' 不在案件表中（请先导入案件）'
        WHERE _reason IS NULL AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = _clean.case_id)
        """
        con.execute(sql)


def quarantine(con, rep: ImportReport, K: Kind, src: readers.Source) -> None:
    stamp = now()
    params = {"import_id": rep.import_id, "file": rep.file, "sheet": rep.sheet, "kind": K.name, "now": stamp}
    # raw JSON of the original row, under its own headers
    sql = f"""
    INSERT INTO quarantine (import_id, file, sheet, row_number, kind, reason, detail, record_id, raw, created_at)
    SELECT $import_id, $file, $sheet, c._row, $kind, c._reason, c._detail, c.{K.key},
           CAST(to_json(s.r) AS VARCHAR), $now
    FROM _clean c
    JOIN (SELECT rowid + 1 AS _r, x AS r FROM _src x
          WHERE rowid + 1 IN (SELECT _row FROM _clean WHERE _reason IS NOT NULL)) s ON s._r = c._row
    WHERE c._reason IS NOT NULL
    ORDER BY c._row
    """
    con.execute(sql, params)
    for rj in src.rejects:
        raw = json.dumps({"line": rj["line"], "text": rj["text"]}, ensure_ascii=False)
        sql = """
        INSERT INTO quarantine (import_id, file, sheet, row_number, kind, reason, detail, record_id, raw, created_at)
        VALUES ($import_id, $file, $sheet, $row, $kind, 'malformed_row', $detail, NULL, $raw, $now)
        """
        con.execute(sql, {**params, "row": rj["line"] - 1, "raw": raw,
                          "detail": f"第 {rj['line']} 行（文件行号）无法解析：{rj['error']}"})
    sql = "SELECT reason, count(*) FROM quarantine WHERE import_id = $import_id GROUP BY reason"
    rep.reasons = {r: int(n) for r, n in con.execute(sql, {"import_id": rep.import_id}).fetchall()}
    rep.quarantined = sum(rep.reasons.values())


UNKNOWN_TICKETS_SQL = """
SELECT count(*) FROM (SELECT unnest(ticket_ids) AS ticket_id FROM _final) l
WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = l.ticket_id)
"""
