"""导入: an administrator uploads a 12345 export or the procuratorate's records and imports them.

Upload → preview of the first rows as they will be stored (same cleaning as the
import, nothing written) → import with a progress bar → the report (counts,
reasons, quarantined rows) and the list of past imports. The logic lives in
data/ingest; this page only lays it out. The dashboard holds the store
read-only; an import writes a copy of the store and swaps it in when it is done
(data/generations.py), so other sessions keep working and see the new data on
their next run. The upload is on disk only while this run reads it (data/uploads.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import streamlit as st

from analytics import privacy, theme
from data import generations, settings, store, uploads
from data.ingest import IngestError, ingest_files, preview, readers
from data.ingest import report as import_report
from ui import db
from ui.charts import table
from ui.plain import md

KIND_CHOICES = {"自动识别": None, "工单": "tickets", "线索": "clues", "案件": "cases", "整改": "rectifications"}
CRS_CHOICES = {"wgs84": "WGS84（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯）", "bd09": "BD-09（百度）"}
PREVIEW_ROWS = 20
PREVIEW_LABELS = {"_row": "行号", "_reason": "隔离原因", "_detail": "说明", "_dup": "重复行", "ticket_ids": "关联工单"}


def _show_report(rep: dict) -> None:
    # File names, sheet names and messages quoting a file are the file's text: shown literally (ui/plain.py).
    name = md(Path(rep["file"]).name + (f"［{rep['sheet']}］" if rep.get("sheet") else ""))
    if rep["status"] != "ok":
        st.error(f"导入失败：{name}\n\n{md(rep['message'])}\n\n数据库未作任何修改。")
        return
    stored = rep["inserted"] + rep["updated"] + rep["unchanged"]
    if rep["rows_read"] and not stored:
        st.error(f"导入完成，但没有任何一行入库：{name}（{rep['rows_read']:,} 行全部被隔离）。")
    else:
        st.success(f"导入完成：{name}（用时 {rep['seconds']:.1f} 秒）" + (f"　{md(rep['message'])}" if rep["message"] else ""))
    for w in rep.get("warnings") or []:
        st.warning(md(w))
    cols = st.columns(5)
    for col, (label, key) in zip(cols, (("读取", "rows_read"), ("新增", "inserted"), ("更新", "updated"),
                                        ("未变", "unchanged"), ("隔离", "quarantined")), strict=True):
        col.metric(label, f"{rep[key]:,}")
    counts = import_report.counts_frame(rep)
    if not counts.empty:
        table(counts, key=f"imp_counts_{rep['import_id']}", title="隔离原因与清洗标记", downloads=False)
    if rep["quarantined"]:
        try:
            cur = db.cursor()
            rows, total = import_report.quarantined_rows(cur, rep["import_id"])
        except store.StoreError as exc:
            st.warning(md(exc))
            return
        caption = f"隔离的行（共 {total:,} 行" + (f"，显示前 {len(rows):,} 行）" if total > len(rows) else "）")
        st.caption(caption)
        table(privacy.mask_frame(rows), key=f"imp_quar_{rep['import_id']}", title="隔离的行")


st.title("导入")
st.caption("数据接收 → 数据清洗 → 数据核查。支持 CSV（UTF-8/GBK/GB18030）、Excel（.xlsx）与 Parquet；"
           "标准 12345 工单表头及线索、案件、整改表头可直接识别，其他格式请上传映射文件（YAML，见 docs/import.md）。")

c1, c2, c3 = st.columns(3)
kind_label = c1.selectbox("数据类型", list(KIND_CHOICES), key="imp_kind")
crs = c2.selectbox("坐标系（文件未注明时）", list(CRS_CHOICES), format_func=CRS_CHOICES.get, key="imp_crs")
max_mb = int(settings.get("HOTLINE_UPLOAD_MAX_MB"))
uploaded = st.file_uploader("数据文件", type=["csv", "txt", "xlsx", "parquet"], key="imp_file", max_upload_size=max_mb,
                            help=f"单个文件不超过 {max_mb:,} MB（设置 HOTLINE_UPLOAD_MAX_MB）；更大的文件请用命令 "
                                 "`python manage.py ingest` 导入。")
mapping_file = c3.file_uploader("映射文件（可选）", type=["yaml", "yml"], key="imp_mapping", max_upload_size=1)

def _preview_and_import(path: Path, mapping_path: Path | None) -> None:
    sheet = None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            sheets = readers.xlsx_sheets(path)
        except readers.ReadError as exc:
            st.error(md(exc))
            return
        choice = st.selectbox("工作表", ["全部工作表", *sheets], key="imp_sheet")
        sheet = None if choice == "全部工作表" else choice
    kind = KIND_CHOICES[kind_label]
    st.subheader("预览")
    try:
        df, info = preview(path, kind=kind, mapping=mapping_path, crs=crs, sheet=sheet, rows=PREVIEW_ROWS)
    except (IngestError, readers.ReadError) as exc:
        st.error(f"无法读取该文件：{md(exc)}")
        return
    st.caption(f"识别为 **{info['label']}** 文件（{info['format']}"
               + (f"，编码 {md(info['encoding'])}" if info["encoding"] else "")
               + (f"，工作表 {md(info['sheet'])}" if info["sheet"] else "")
               + f"）。前 {len(df)} 行清洗后的样子如下，尚未写入数据库；“隔离原因”非空的行将被隔离。")
    recognised = "、".join(f"{'+'.join(v)}→{k}" for k, v in info["recognised"].items())
    st.caption(f"已识别的列：{md(recognised)}")
    if info.get("extra"):
        st.caption(f"其他列（按工单保存在 extra，工单详情中可见）：{md('、'.join(info['extra']))}")
    if info["unused"]:
        st.caption(f"未使用的列：{md('、'.join(info['unused']))}")
    shown = privacy.mask_frame(df).rename(columns=lambda c: PREVIEW_LABELS.get(c) or theme.label(c))
    table(shown, key="imp_preview", title="导入预览", downloads=False)

    if not st.button("开始导入", type="primary", key="imp_go"):
        return
    waiting = st.empty()
    bar = st.progress(0.0, text="准备导入…")

    def _progress(done, total, message):
        bar.progress(min(1.0, done / total) if total else 0.0, text=md(message))

    reports = []
    try:
        with generations.write(purpose=f"导入 {path.name}", on_wait=lambda m: waiting.info(md(m))) as gen:
            waiting.empty()
            reports = ingest_files(gen.con, [path], kind=kind, mapping=mapping_path, crs=crs, sheet=sheet,
                                   progress=_progress)
    except IngestError as exc:
        st.error(f"导入未开始：{md(exc)}")
    except (store.StoreError, duckdb.Error, OSError) as exc:
        st.error(f"导入失败，数据库未作任何修改：{md(exc)}")
    bar.empty()
    st.session_state["imp_reports"] = [r.to_dict() for r in reports]
    done = [d for d in ((gen.synced, gen.after) if reports else ()) if d is not None and d.describe()]
    st.session_state["imp_screening"] = [(bool(d.error), d.describe()) for d in done]


if uploaded is not None and uploaded.size > max_mb * 2**20:
    st.error(f"文件有 {uploaded.size / 2**20:,.0f} MB，超过上传上限 {max_mb:,} MB（设置 HOTLINE_UPLOAD_MAX_MB）。"
             "请用命令 `python manage.py ingest` 导入，或拆分文件。")
elif uploaded is not None:
    named = {uploaded.name: uploaded}
    if mapping_file is not None:
        named[mapping_file.name] = mapping_file
    with uploads.staged(named) as staged:
        _preview_and_import(staged[uploaded.name], staged.get(mapping_file.name) if mapping_file else None)

for rep in st.session_state.get("imp_reports", []):
    _show_report(rep)
for failed, said in st.session_state.get("imp_screening") or []:
    (st.warning if failed else st.info)(md(said))

st.subheader("导入记录")
if not settings.db_path().exists():
    st.info("尚无数据库：导入第一个文件时将自动创建。")
else:
    try:
        past = import_report.recent_imports(db.cursor())
    except store.StoreError as exc:
        st.warning(md(exc))
    else:
        if past.empty:
            st.info("尚无导入记录。")
        else:
            table(past, key="imp_history", title="导入记录")
