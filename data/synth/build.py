"""Orchestrates a demo build: plan → chunks of tickets → export files → (optionally) the import pipeline.

Why this shape: the demo goes into the store exactly as real data does, through standard 12345 export files
and the procuratorate's clue/case/rectification files loaded by `data.ingest.ingest_files`; chunks keep
memory bounded at any size (25 M tickets = a Beijing year). The ground truth of planted hotspots and repeat
places is written as `demo_truth.csv` next to the files and as the `demo_truth` table in the store.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .funnel import FunnelState, funnel_chunk
from .places import build_places
from .plan import make_plan
from .tickets import HandlingModel, generate_chunk

TICKET_HEADERS = {
    "ticket_id": "工单编号", "received_at": "受理时间", "channel": "来电渠道", "appeal_type": "诉求类型",
    "category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类", "content": "诉求内容",
    "district": "所属区", "street": "街道", "address": "详细地址", "lon": "经度", "lat": "纬度",
    "source_crs": "坐标系", "handling_unit": "承办单位", "status": "办理状态", "responded_at": "响应时间",
    "closed_at": "办结时间", "satisfaction": "满意度", "resolved": "是否解决", "complainant_name": "诉求人",
    "complainant_phone": "联系电话",
}
CLUE_HEADERS = {
    "clue_id": "线索编号", "created_at": "登记时间", "district": "所属院", "function": "检察职能",
    "department": "承办部门", "topic": "专项", "source": "线索来源", "status": "线索状态", "reviewed_at": "审查时间",
    "summary": "线索摘要", "ticket_ids": "关联工单",
}
CASE_HEADERS = {
    "case_id": "案件编号", "clue_id": "线索编号", "filed_at": "立案时间", "case_type": "案件类型", "measure": "监督措施",
    "measure_at": "措施时间", "reply_due_at": "回复期限", "replied_at": "回复时间", "urgent": "是否紧急",
}
RECT_HEADERS = {
    "case_id": "案件编号", "rectified_at": "整改时间", "result": "整改结果", "followed_up_at": "回头看时间",
    "outcome": "整改成效", "outcome_value": "成效数值", "outcome_unit": "成效单位",
}
DEFAULT_CHUNK_ROWS = 1_000_000
TRUTH_FILE = "demo_truth.csv"


@dataclass
class BuildResult:
    out_dir: Path
    ticket_files: list[Path] = field(default_factory=list)
    funnel_files: list[Path] = field(default_factory=list)
    truth_file: Path | None = None
    n_tickets: int = 0
    n_clues: int = 0
    n_cases: int = 0
    n_rects: int = 0
    seconds_generate: float = 0.0
    seconds_import: float = 0.0
    reports: list = field(default_factory=list)
    truth: pd.DataFrame | None = None


def choose_format(n_tickets: int, fmt: str) -> str:
    """auto: XLSX up to 20k tickets, CSV up to 300k, Parquet above (chunks of <= 1 M rows)."""
    if fmt != "auto":
        if fmt not in ("csv", "xlsx", "parquet"):
            raise ValueError(f"unknown format {fmt!r}")
        return fmt
    if n_tickets <= 20_000:
        return "xlsx"
    if n_tickets <= 300_000:
        return "csv"
    return "parquet"


def _export(cols, headers: dict):
    """A pyarrow table with the export headers; times as text 'YYYY-MM-DD HH:MM:SS' as real exports have."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = {}
    for key, head in headers.items():
        v = cols[key]
        if isinstance(v, pd.Series):
            v = v.to_numpy()
        if np.issubdtype(np.asarray(v).dtype, np.datetime64):
            v = np.asarray(v).astype("datetime64[s]")
            txt = pa.array(np.datetime_as_string(v, unit="s"), mask=np.isnat(v))
            arrays[head] = pc.replace_substring(txt, "T", " ")
        elif np.asarray(v).dtype == object:
            arrays[head] = pa.array(v, type=pa.string(), from_pandas=True)
        else:
            arrays[head] = pa.array(v, from_pandas=True)
    return pa.table(arrays)


def _write(table, path: Path, fmt: str) -> Path:
    path = path.with_suffix("." + fmt)
    if fmt == "csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    elif fmt == "xlsx":
        df = table.to_pandas()
        with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
            df.to_excel(xw, index=False, sheet_name="Sheet1")
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, path, compression="zstd")
    return path


def generate(out_dir: str | Path, *, tickets: int, years: int = 2, seed: int = 12345,
             end: dt.date | None = None, fmt: str = "auto", chunk_rows: int = DEFAULT_CHUNK_ROWS,
             on_chunk: Callable[[Path, int, int], None] | None = None,
             log: Callable[[str], None] | None = None, region: str | None = None) -> BuildResult:
    """Write the export files of a demo into out_dir; call on_chunk(path, i, n_chunks) after each ticket file.

    on_chunk lets the caller import a chunk file as soon as it is written (and delete it), so memory and disk
    stay bounded. Returns what was written; funnel files are written last (they reference the tickets).
    """
    from geo import regions

    from . import timeline

    if region is not None:   # the places of this region's polygons (also in the worker process)
        regions.activate(region)
    t0 = time.perf_counter()
    end = end or timeline.default_end()
    chunk_rows = min(int(chunk_rows), DEFAULT_CHUNK_ROWS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = choose_format(tickets, fmt)
    say = log or (lambda _m: None)

    places = build_places(seed)
    plan = make_plan(seed, tickets, years, end, places, chunk_rows)
    handling = HandlingModel(seed, places.district)
    from geo import boundaries

    adcodes = dict(zip(boundaries.districts()["district"], boundaries.districts()["adcode"], strict=True))
    state = FunnelState()
    res = BuildResult(out_dir=out, n_tickets=plan.n_tickets, truth=plan.truth)
    n_chunks = len(plan.chunks)
    say(f"plan: {plan.n_tickets:,} tickets, {plan.days[0].date()} .. {plan.days[-1].date()}, "
        f"{n_chunks} chunk(s), format {fmt}, setup {time.perf_counter() - t0:.1f}s")
    import_seconds = 0.0
    for i in range(n_chunks):
        frame = generate_chunk(plan, places, handling, i)
        funnel_chunk(plan, places, frame, i, state, adcodes)
        path = _write(_export(frame, TICKET_HEADERS), out / f"tickets_{i + 1:03d}", fmt)
        del frame
        res.ticket_files.append(path)
        if on_chunk is not None:
            t1 = time.perf_counter()
            on_chunk(path, i, n_chunks)
            import_seconds += time.perf_counter() - t1

    ffmt = "xlsx" if fmt == "xlsx" else "csv"
    clues = _concat(state.clues, CLUE_HEADERS)
    cases = _concat(state.cases, CASE_HEADERS)
    rects = _concat(state.rects, RECT_HEADERS)
    res.n_clues, res.n_cases, res.n_rects = len(clues), len(cases), len(rects)
    res.funnel_files = [
        _write(_export(clues, CLUE_HEADERS), out / "clues", ffmt),
        _write(_export(cases, CASE_HEADERS), out / "cases", ffmt),
        _write(_export(rects, RECT_HEADERS), out / "rectifications", ffmt),
    ]
    res.truth_file = out / TRUTH_FILE
    plan.truth.to_csv(res.truth_file, index=False, encoding="utf-8")
    res.seconds_generate = time.perf_counter() - t0 - import_seconds
    res.seconds_import = import_seconds
    return res


def _concat(frames: list, headers: dict) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in headers})
    return pd.concat(frames, ignore_index=True)


def _checked_limit(value: str) -> str:
    import re

    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value.strip(), flags=re.I):
        raise ValueError(f"memory limit {value!r} must look like 2GB or 1500MB")
    return value.strip()


def _worker(q, sem, out_dir, kwargs) -> None:
    """Child process: generate the files, announcing each ticket chunk; waits when two are pending."""
    def on_chunk(path: Path, i: int, n: int) -> None:
        sem.acquire()
        q.put(("chunk", str(path), i, n))

    try:
        res = generate(out_dir, on_chunk=on_chunk, log=lambda m: q.put(("log", m)), **kwargs)
        q.put(("done", res))
    except BaseException as exc:  # reported to the parent, which raises
        q.put(("error", f"{type(exc).__name__}: {exc}"))


def _generate_in_worker(out_dir, kwargs: dict, load_chunk, say) -> BuildResult:
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    sem = ctx.Semaphore(2)
    proc = ctx.Process(target=_worker, args=(q, sem, Path(out_dir), kwargs), daemon=True)
    proc.start()
    import_seconds = 0.0
    try:
        while True:
            try:
                msg = q.get(timeout=5)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"demo generator process died (exit code {proc.exitcode})") from None
                continue
            if msg[0] == "log":
                say(msg[1])
            elif msg[0] == "chunk":
                t = time.perf_counter()
                load_chunk(Path(msg[1]), msg[2], msg[3])
                import_seconds += time.perf_counter() - t
                sem.release()
            elif msg[0] == "error":
                raise RuntimeError(msg[1])
            else:
                res = msg[1]
                break
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
    res.seconds_import = import_seconds
    return res


TRUTH_SQL = """
CREATE OR REPLACE TABLE demo_truth AS
SELECT truth_id::INTEGER AS truth_id, kind, topic, district, street, street_code, place, address,
       lon::DOUBLE AS lon, lat::DOUBLE AS lat, radius_m::DOUBLE AS radius_m, label,
       first_date::DATE AS first_date, last_date::DATE AS last_date, n_tickets::BIGINT AS n_tickets,
       closed_date::DATE AS closed_date, reopened_date::DATE AS reopened_date
FROM _demo_truth_df
ORDER BY truth_id
"""
META_SQL = "INSERT INTO meta (key, value) VALUES (?, ?)"


def store_truth(con, truth: pd.DataFrame) -> None:
    """Create the `demo_truth` table from the plan's ground truth."""
    df = truth.copy()
    for c in ("address", "closed_date", "reopened_date"):
        df[c] = df[c].astype(object)
    con.register("_demo_truth_df", df)
    try:
        con.execute(TRUTH_SQL)
    finally:
        con.unregister("_demo_truth_df")


def build_database(db_path: str | Path, *, tickets: int, years: int = 2, seed: int = 12345,
                   end: dt.date | None = None, fmt: str = "auto", chunk_rows: int = DEFAULT_CHUNK_ROWS,
                   out_dir: str | Path | None = None, keep_files: bool = False, parallel: bool = True,
                   memory_limit: str | None = "2GB",
                   log: Callable[[str], None] | None = None, region: str | None = None) -> BuildResult:
    """Generate a demo and load it through the import pipeline into the store at db_path.

    Ticket chunks are imported as they are written (refresh=False), then the funnel files, then the derived
    tables are refreshed once. Files go to out_dir (kept) or a temporary directory (removed unless keep_files).
    With `parallel` (and more than one chunk) a worker process generates the next chunk while this process
    imports the previous one (at most two written chunks wait), which uses both cores. The output does not
    depend on it. The worker is started with "spawn": a script calling this needs the usual
    `if __name__ == "__main__":` guard (manage.py has it).
    """
    import shutil
    import tempfile

    from data import derived, generations, store
    from data.ingest import ingest_files
    from geo import regions

    from . import timeline

    region = region or regions.configured()

    say = log or (lambda _m: None)
    end = end or timeline.default_end()
    limit = _checked_limit(memory_limit) if memory_limit else None
    tmp = None
    if out_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
        out_dir = tmp
    # A fresh store written beside the old one and swapped in at the end: a dashboard reading the old one
    # keeps working meanwhile, and a failed build leaves it as it was.
    with generations.write(db_path, purpose="生成演示数据", fresh=True) as gen:
        con = gen.con
        if regions.of_store(con) != region:   # the demo of another region than HOTLINE_REGION's
            store.load_geography(con, region)
        regions.activate(region)
        if limit:
            # DuckDB would otherwise cache up to 80% of RAM; the build's memory must not grow with its size
            sql = f"SET memory_limit = '{limit}'"   # SET takes no parameters; the value is checked above
            con.execute(sql)
        reports: list = []
        try:
            def load_chunk(path: Path, i: int, n: int) -> None:
                rep = ingest_files(con, [path], kind="tickets", refresh=False)
                reports.extend(rep)
                r = rep[0]
                say(f"  chunk {i + 1}/{n}: {path.name} read={r.rows_read:,} inserted={r.inserted:,} "
                    f"quarantined={r.quarantined:,} ({r.seconds:.1f}s)")
                if not keep_files and tmp is not None:
                    path.unlink(missing_ok=True)

            kwargs = dict(tickets=tickets, years=years, seed=seed, end=end, fmt=fmt, chunk_rows=chunk_rows,
                          region=region)
            if parallel and tickets > chunk_rows:   # one chunk: nothing to overlap
                res = _generate_in_worker(out_dir, kwargs, load_chunk, say)
            else:
                res = generate(out_dir, on_chunk=load_chunk, log=log, **kwargs)
            t1 = time.perf_counter()
            for path, kind in zip(res.funnel_files, ("clues", "cases", "rectifications"), strict=True):
                rep = ingest_files(con, [path], kind=kind, refresh=False)
                reports.extend(rep)
                r = rep[0]
                say(f"  {path.name}: read={r.rows_read:,} inserted={r.inserted:,} quarantined={r.quarantined:,}")
            store_truth(con, res.truth)
            con.execute("DELETE FROM meta WHERE key LIKE 'demo_%'")
            for k, v in {"demo_seed": seed, "demo_tickets": tickets, "demo_years": years,
                         "demo_end": end.isoformat()}.items():
                con.execute(META_SQL, [k, str(v)])
            say("refreshing derived tables …")
            derived.refresh(con)
            res.seconds_import += time.perf_counter() - t1
            res.reports = reports
            return res
        finally:
            if tmp is not None and not keep_files:
                shutil.rmtree(tmp, ignore_errors=True)


def content_hash(con, tables=("tickets", "clues", "clue_tickets", "cases", "rectifications", "demo_truth")) -> str:
    """A hash of the sorted content of the given tables, ignoring import bookkeeping columns."""
    import hashlib

    skip = {"import_id", "updated_at", "row_hash"}
    h = hashlib.sha256()
    for t in tables:
        cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = ? ORDER BY ordinal_position", [t]).fetchall()]
        col_list = ", ".join(f'"{c}"' for c in cols if c not in skip)  # names from the catalogue
        sql = f"SELECT {col_list} FROM {t} ORDER BY ALL"  # fixed table names only
        tab = con.sql(sql).to_arrow_table()
        h.update(f"{t}:{tab.num_rows}".encode())
        for name in tab.column_names:
            h.update(name.encode())
            h.update(repr(tab.column(name).to_pylist()).encode())
    return h.hexdigest()
