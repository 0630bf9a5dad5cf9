"""The SQL of an import's cleaning: staging, typed values, reasons, flags, hashes, the final rows.

Pure builders (a field table and a mapping in, SQL text and bound parameters out), run chunk by
chunk by data/ingest/prepare.py. Identifiers come from the field table (data/ingest/fields.py),
values are bound as parameters.
"""

from __future__ import annotations

import re

from data.ingest import clean
from data.ingest.fields import VOCABULARIES, Kind

CRS_ALIASES = {
    0: ["wgs84", "wgs", "epsg4326", "4326", "gps"],
    1: ["gcj02", "gcj", "amap", "gaode", "高德", "tencent", "腾讯", "火星坐标"],
    2: ["bd09", "bd09ll", "baidu", "百度"],
}
CRS_NAMES = {0: "wgs84", 1: "gcj02", 2: "bd09"}


# The rows whose topic the text's words decide: no topic given and neither the third nor the second
# category level names one (the final SQL prefers a given topic, then the categories; see final_sql).
# Only these need the regex search of the text, which is the costliest step of a chunk.
WORDS_DECIDE_SQL = """
topic IS NULL AND NOT EXISTS (
    SELECT 1 FROM _topic_cats tc
    WHERE tc.category IN (coalesce(category_l3, nullif(trim(split_part(category_path, '/', 3)), '')),
                          coalesce(category_l2, nullif(trim(split_part(category_path, '/', 2)), ''))))
"""


def used(sql: str, params: dict) -> dict:
    """Only the named parameters that appear in `sql` (DuckDB rejects unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


# ---------------------------------------------------------------- SQL builders


def text_fields(K: Kind) -> list[str]:
    return [f.name for f in K.fields if f.type in ("short", "long") and f.name != "crs"]


# Deadlines may lie ahead: an optional time is implausible before clean.EARLIEST, or (except a deadline) after
# the import (clean.base_params' `latest`): 1900-01-01 or 2100-01-01 in a closing time would make every duration
# through it a misleading number, so it is set empty and the row flagged (implausible_optional_time).
DEADLINES = ("reply_due_at", "due_at")


def optional_times(K: Kind) -> list[str]:
    return [f.name for f in K.fields if f.type == "time" and f.name != K.required_time]


def implausible_sql(K: Kind) -> list[str]:
    """UPDATEs of `_stage` that empty the implausible optional times of a chunk and mark them (`_imp_<field>`)."""
    out = []
    for n in optional_times(K):
        cond = f"{n} < $earliest" if n in DEADLINES else f"({n} < $earliest OR {n} > $latest)"
        out.append(f"UPDATE _stage SET {n} = NULL, _imp_{n} = true WHERE {cond}")   # names from the field table
    return out


TYPED_TIME = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
TYPED_NUM = ("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT")


def stage_sql(K: Kind, colmap: dict, m, params: dict, types: dict | None = None,
              extra_cols: list[str] | tuple[str, ...] = ()) -> tuple[str, str]:
    """SQL of the two staging statements: clean texts, then typed values.

    `types` (source column -> DuckDB type) lets typed Parquet columns skip the text round trip:
    a TIMESTAMP column is used as it is instead of being printed and parsed again. `extra_cols` are the
    file's columns kept per ticket in `extra` (with the codes split off by the mapping's `split_code`).
    """
    types = types or {}
    inner, outer = ["rowid + 1 AS _row"], ["_row"]
    extra_pairs: list[tuple[str, str]] = []   # (key, cleaned text expression) for the `extra` JSON
    if m.date_formats:
        params["user_formats"] = m.date_formats
    if m.join:
        params["join_sep"] = m.join
    for f in K.fields:
        if f.type == "json":
            continue   # `extra` is built after the loop, from extra_cols and the split codes
        cols = colmap.get(f.name)
        if not cols:
            raw = "CAST(NULL AS VARCHAR)"
        elif len(cols) == 1:
            raw = f"CAST({clean.q(cols[0])} AS VARCHAR)"
        else:
            parts = ", ".join(clean.text_sql(f"CAST({clean.q(c)} AS VARCHAR)", f.type) for c in cols)
            raw = f"concat_ws($join_sep, {parts})"
        t = clean.text_sql(raw, f.type)
        if f.name in m.split_code:
            # "TRT-Traffic Signal Repairs": the name stays in the field, the code goes to extra[<field>_code]
            pat = f"split_{f.name}"
            params[pat] = r"^(\S+?)\s*" + re.escape(m.split_code[f.name]) + r"\s*(.+)$"
            parts = f"regexp_extract({t}, ${pat}, ['code', 'name'])"
            extra_pairs.append((f"{f.name}_code", f"nullif(({parts}).code, '')"))
            t = f"coalesce(nullif(({parts}).name, ''), {t})"
        if f.name in m.values:
            cases = []
            for j, (a, b) in enumerate(m.values[f.name].items()):
                params[f"v_{f.name}_{j}_a"], params[f"v_{f.name}_{j}_b"] = a, b
                cases.append(f"WHEN ${'v_' + f.name}_{j}_a THEN ${'v_' + f.name}_{j}_b")
            t = f"(CASE {t} {' '.join(cases)} ELSE {t} END)"
        t = clean.value_sql(K, f, t)
        if f.name in m.defaults:
            params[f"def_{f.name}"] = m.defaults[f.name]
            t = f"coalesce({t}, $def_{f.name})"
        if K.name == "tickets" and f.name in VOCABULARIES:
            # a value outside the product's words: kept as it is, or 其他 / empty (mapping `unmapped`); the raw
            # value is kept in _unm_<field> so the report can list and count it (flag unmapped_<field>)
            params[f"vocab_{f.name}"] = list(VOCABULARIES[f.name])
            outside = f"({t} IS NOT NULL AND NOT list_contains($vocab_{f.name}, {t}))"
            inner.append(f"CASE WHEN {outside} THEN {t} END AS _unm_{f.name}")
            policy = m.unmapped.get(f.name, "keep")
            if policy != "keep":
                replacement = "'其他'" if policy == "other" else "NULL"
                t = f"(CASE WHEN {outside} THEN {replacement} ELSE {t} END)"
        if f.name == K.key and m.id_prefix:
            params["id_prefix"] = m.id_prefix
            t = f"($id_prefix || {t})"
        tn = f"t_{f.name}"
        src_type = types.get(cols[0], "VARCHAR").split("(")[0] if cols and len(cols) == 1 else "VARCHAR"
        typed = (f.type == "time" and src_type in TYPED_TIME) or (f.type == "num" and src_type in TYPED_NUM)
        typed = typed and f.name not in m.values and f.name not in m.defaults
        # a typed column needs no text cleaning: its text form only tells "empty" from "unreadable"
        inner.append(f"{raw if typed else t} AS {tn}")
        if typed:
            target = "TIMESTAMP" if f.type == "time" else "DOUBLE"
            inner.append(f"CAST({clean.q(cols[0])} AS {target}) AS v_{f.name}")
            outer += [f"v_{f.name} AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "time":
            outer += [f"{clean.time_sql(tn, bool(m.date_formats))} AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "num":
            outer += [f"TRY_CAST({tn} AS DOUBLE) AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "bool":
            outer += [f"{clean.bool_sql(tn)} AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "list":
            outer.append(f"list_filter(string_split_regex({tn}, '[,;\\s]+'), lambda v: v <> '') AS {f.name}")
        elif f.name == "crs":
            whens = []
            for code, aliases in CRS_ALIASES.items():
                params[f"crs_{code}"] = aliases
                whens.append(f"WHEN list_contains($crs_{code}, lower(regexp_replace({tn}, '[-_ ]', '', 'g'))) "
                             f"THEN {code}")
            outer.append(f"(CASE WHEN {tn} IS NULL THEN NULL {' '.join(whens)} ELSE -1 END) AS crs_code")
        else:
            outer.append(f"{tn} AS {f.name}")
    outer += [f"false AS _imp_{n}" for n in optional_times(K)]
    if any(f.type == "json" for f in K.fields):
        for c in extra_cols:
            extra_pairs.append((str(c), clean.text_sql(f"CAST({clean.q(c)} AS VARCHAR)", "long")))
        if extra_pairs:
            keys = []
            for j, (k, expr) in enumerate(extra_pairs):
                params[f"xk_{j}"] = k
                keys.append(f"struct_pack(k := $xk_{j}, v := {expr})")
            entries = f"list_filter([{', '.join(keys)}], lambda x: x.v IS NOT NULL)"
            inner.append(f"nullif(CAST(to_json(map_from_entries({entries})) AS VARCHAR), '{{}}') AS t_extra")
        else:
            inner.append("CAST(NULL AS VARCHAR) AS t_extra")
        outer.append("t_extra AS extra")
    outer += [f"_unm_{n}" for n in VOCABULARIES if K.name == "tickets"]
    texts = [f"t_{n}" for n in text_fields(K)]
    params["trad"] = clean.traditional_pattern()
    outer.append(f"regexp_matches(concat_ws('', {', '.join(texts)}), $trad) AS _trad")
    # two statements: the texts are materialised once, then typed (a subquery would be inlined and
    # every reference to a text column would clean it again)
    return (f"CREATE OR REPLACE TEMP TABLE _stage_txt AS SELECT {', '.join(inner)} FROM _src "
            f"WHERE rowid >= $lo AND rowid < $hi",
            f"CREATE OR REPLACE TEMP TABLE _stage AS SELECT {', '.join(outer)} FROM _stage_txt")


def reason_sql(K: Kind) -> tuple[str, str]:
    """(reason, Chinese detail) expressions for row-level problems, over the final columns."""
    key_label = K.field(K.key).headers[0]
    conds = [(f"{K.key} IS NULL", "'missing_id'", f"'缺少{key_label}'")]
    if K.required_time:
        tl = K.field(K.required_time).headers[0]
        t = K.required_time
        conds += [
            (f"{t}_txt IS NULL", "'bad_time'", f"'缺少{tl}'"),
            (f"{t} IS NULL", "'bad_time'", f"'{tl}无法识别：' || left({t}_txt, 60)"),
            (f"{t} < $earliest OR {t} > $latest", "'time_out_of_range'",
             f"'{tl}超出合理范围：' || strftime({t}, '%Y-%m-%d %H:%M')"),
        ]
    if K.name == "cases":
        conds.append(("clue_id IS NULL", "'unknown_clue'", "'缺少线索编号'"))
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r, _ in conds) + " END"
    detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in conds) + " END"
    return reason, detail


def bad_fields_sql(K: Kind, ftype: str) -> str:
    names = [f.name for f in K.fields if f.type == ftype and f.name != K.required_time and f.name not in ("lon", "lat")]
    if not names:
        return "false"
    imp = set(optional_times(K)) if ftype == "time" else set()
    return "(" + " OR ".join(f"({n}_txt IS NOT NULL AND {n} IS NULL"
                             + (f" AND NOT _imp_{n}" if n in imp else "") + ")" for n in names) + ")"


def hash_sql(cols: list[str]) -> str:
    # DuckDB's 64-bit hash of the typed values: 5x cheaper than md5 of their text. It only has to tell a
    # row from its own previous version; if a DuckDB upgrade changes the hash function, the next
    # re-import of a file reports its rows as updated once (harmless).
    return f"CAST(hash({', '.join(cols)}) AS VARCHAR)"


def hash_columns(K: Kind) -> list[str]:
    cols = [f.name for f in K.stored_fields]
    if K.name == "tickets":
        cols += ["street_code", "source_crs", "geo_flag"]
    if K.name == "clues":
        cols += ["_links"]
    return cols


def store_columns(K: Kind) -> list[str]:
    cols = [f.name for f in K.stored_fields]
    if K.name == "tickets":
        cols += ["street_code", "source_crs", "geo_flag"]
    return cols


def final_sql(K: Kind, rules, params: dict) -> str:
    reason, detail = reason_sql(K)
    imp = [f"_imp_{n}" for n in optional_times(K)]
    common_flags = [
        "_trad AS _f_traditional_converted",
        f"({' OR '.join(imp) if imp else 'false'}) AS _f_implausible_optional_time",
        f"{bad_fields_sql(K, 'time')} AS _f_bad_optional_time",
        f"{bad_fields_sql(K, 'num')} AS _f_bad_number",
        f"{bad_fields_sql(K, 'bool')} AS _f_bad_yes_no",
    ]
    if K.name == "tickets":
        body = """
        WITH b AS (
            SELECT s.*, n.d_text, n.s_text, n.d_unknown, n.s_unknown,
                   g.g_lon, g.g_lat, g.has_pt, g.in_region, g.swapped, g.converted, g.crs_eff,
                   ps.pt_street, g.pt_dist AS pt_district, ad.a_district, ad.a_street,
                   coalesce(s.category_l1, nullif(trim(split_part(s.category_path, '/', 1)), '')) AS l1,
                   coalesce(s.category_l2, nullif(trim(split_part(s.category_path, '/', 2)), '')) AS l2,
                   coalesce(s.category_l3, nullif(trim(split_part(s.category_path, '/', 3)), '')) AS l3
            FROM _stage s
            LEFT JOIN _names n ON n.d_key = coalesce(s.district, chr(1)) AND n.s_key = coalesce(s.street, chr(1))
            LEFT JOIN _geo_t g ON g._row = s._row
            LEFT JOIN (SELECT street_code AS ps_code, street AS pt_street FROM streets) ps
                   ON ps.ps_code = g.pt_code
            -- no point and no district given: the district (and street) the address text names (geo/address.py)
            LEFT JOIN _addr ad ON ad.a_text = coalesce(s.address, left(s.content, 80))
                   AND NOT g.has_pt AND n.d_text IS NULL
        ), c AS (
            SELECT b.*, coalesce(d_text, pt_district, a_district) AS district_f,
                   -- the point decides the street when it agrees with the district (so street_code always
                   -- matches the polygon the point is in); a district mismatch keeps the given names
                   CASE WHEN pt_street IS NOT NULL AND coalesce(d_text, pt_district) = pt_district THEN pt_street
                        ELSE coalesce(s_text, a_street)
                   END AS street_f,
                   coalesce(c3.cat_topic, c2.cat_topic, th.word_topic) AS topic_match,
                   -- a region pack's own rules: only for tickets placed in the region (REGIONAL_RULES)
                   REGIONAL_RULES AS rules_apply
            FROM b
            LEFT JOIN _topic_cats c3 ON c3.category = b.l3
            LEFT JOIN _topic_cats c2 ON c2.category = b.l2
            LEFT JOIN _topic_hits th ON th._row = b._row
        )
        SELECT c._row, ticket_id, received_at, channel, appeal_type,
               l1 AS category_l1, l2 AS category_l2, l3 AS category_l3,
               coalesce(topic, CASE WHEN rules_apply THEN topic_match END) AS topic, content,
               district_f AS district, street_f AS street, st.st_code AS street_code, address,
               -- a point outside the region is kept as given (WGS84), flagged outside_region: never on a map
               CASE WHEN has_pt THEN g_lon END AS lon, CASE WHEN has_pt THEN g_lat END AS lat,
               CASE WHEN has_pt THEN $crs_names[crs_eff + 1] END AS source_crs,
               CASE WHEN NOT has_pt AND a_district IS NOT NULL THEN 'by_address'
                    WHEN NOT has_pt THEN 'no_coords'
                    WHEN NOT in_region THEN 'outside_region'
                    WHEN pt_district IS NULL THEN 'outside_polygons'
                    WHEN d_text IS NOT NULL AND d_text <> pt_district THEN 'district_mismatch'
                    WHEN swapped THEN 'swapped_fixed' END AS geo_flag,
               handling_unit, status, responded_at, closed_at, satisfaction, resolved,
               complainant_name, complainant_phone, reply, due_at, extra,
               received_at_txt, responded_at_txt, closed_at_txt, resolved_txt, due_at_txt, IMPLAUSIBLE_MARKS,
               _unm_status IS NOT NULL AS _f_unmapped_status, _unm_satisfaction IS NOT NULL AS _f_unmapped_satisfaction,
               _unm_channel IS NOT NULL AS _f_unmapped_channel, _unm_appeal_type IS NOT NULL AS _f_unmapped_appeal_type,
               _unm_status, _unm_satisfaction, _unm_channel, _unm_appeal_type,
               NOT has_pt AND a_district IS NULL AS _f_not_located,
               NOT has_pt AND a_district IS NOT NULL AS _f_located_by_address,
               has_pt AND NOT in_region AS _f_outside_region,
               in_region AND pt_district IS NULL AS _f_outside_polygons,
               swapped AS _f_swapped_fixed,
               converted = 1 AS _f_converted_gcj02,
               converted = 2 AS _f_converted_bd09,
               d_text IS NULL AND district_f IS NOT NULL AS _f_district_filled,
               s_text IS NULL AND street_f IS NOT NULL AS _f_street_filled,
               s_text IS NOT NULL AND street_f IS NOT NULL AND s_text <> street_f AS _f_street_mismatch,
               d_text IS NOT NULL AND pt_district IS NOT NULL AND d_text <> pt_district AS _f_district_mismatch,
               d_unknown AS _f_unknown_district,
               s_unknown AS _f_unknown_street,
               crs_code = -1 AS _f_unknown_crs,
               ((lon_txt IS NOT NULL AND lon IS NULL) OR (lat_txt IS NOT NULL AND lat IS NULL)) AS _f_bad_coordinates,
               topic IS NULL AND topic_match IS NOT NULL AND rules_apply AS _f_topic_derived,
               topic IS NULL AND topic_match IS NOT NULL AND NOT rules_apply AS _f_topic_outside_region,
               _trad
        FROM c LEFT JOIN (SELECT district AS st_d, street AS st_s, street_code AS st_code FROM streets) st
               ON st.st_d = c.district_f AND st.st_s = c.street_f
        """
        body = body.replace("IMPLAUSIBLE_MARKS", ", ".join(imp))   # the marks of the optional times above
        placed = "(coalesce(d_text, pt_district, a_district) IS NOT NULL OR (has_pt AND in_region))"
        body = body.replace("REGIONAL_RULES", placed if getattr(rules, "regional", False) else "true")
        params["crs_names"] = [CRS_NAMES[i] for i in range(3)]
    elif K.name == "clues":
        body = """
        SELECT s.* EXCLUDE (district), n.d_text AS district, n.d_unknown AS _f_unknown_district,
               array_to_string(list_sort(list_distinct(ticket_ids)), ',') AS _links
        FROM _stage s
        LEFT JOIN _names n ON n.d_key = coalesce(s.district, chr(1)) AND n.s_key = chr(1)
        """
    else:
        body = "SELECT * FROM _stage"
    hcols = hash_columns(K)
    return f"""
    SELECT {reason} AS _reason, {detail} AS _detail, false AS _dup, {', '.join(common_flags)},
           {hash_sql(hcols)} AS row_hash, f.*
    FROM ({body}) f
    """
