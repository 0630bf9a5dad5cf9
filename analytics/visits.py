"""The visit list (走访清单): the hotspots a prosecutor walks to, as a printable XLSX.

Before issuing a suggestion prosecutors check the places on foot (井盖 on a
busy crossing, a river polluted again). They need, per place: the address,
coordinates they can type into a phone map (WGS84 and GCJ-02, since AMap and
Tencent maps use GCJ-02), how many tickets and since when, whether it keeps
coming back, linked clues and what citizens said (masked), plus one map image
with the numbered places. The workbook is set up for A4 landscape printing.
Used by the map page's download button and `python manage.py visits`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from analytics import hotspots as hs
from analytics.filters import Filters
from analytics.tables import neutralise
from geo import crs

DEFAULT_TOP = 30
LATEST_TEXTS = 3

COLUMNS = [
    ("rank", "序号", 6), ("kind", "类型", 9), ("district", "区", 9), ("street", "街道/乡镇", 12),
    ("address", "地址（最常见）", 26), ("n", "工单量", 8), ("first", "首次", 11), ("last", "最近", 11),
    ("trend", "趋势", 16), ("repeat", "重复", 6), ("n_after_close", "办结后再诉", 9), ("clues", "关联线索", 12),
    ("lon_wgs84", "经度 WGS84", 12), ("lat_wgs84", "纬度 WGS84", 11), ("lon_gcj02", "经度 GCJ-02", 12),
    ("lat_gcj02", "纬度 GCJ-02", 11), ("texts", "最近诉求（已脱敏）", 60),
]


@dataclass(frozen=True)
class VisitList:
    rows: pd.DataFrame   # COLUMNS keys + ticket_ids
    method: str
    filters: Filters
    notes: tuple[str, ...]
    total_hotspots: int


def visit_rows(con, table: pd.DataFrame, top: int = DEFAULT_TOP, n_texts: int = LATEST_TEXTS,
               f: Filters | None = None) -> pd.DataFrame:
    """The top rows of a ranked hotspot table with coordinates in both systems and the latest masked texts.

    `table` needs its ticket ids listed for these rows (`hotspots.with_ticket_ids`)."""
    t = table.head(top).copy()
    if t.empty:
        return pd.DataFrame(columns=[c for c, _, _ in COLUMNS] + ["ticket_ids"])
    lon = t["lon"].to_numpy(float)
    lat = t["lat"].to_numpy(float)
    glon, glat = crs.from_wgs84(lon, lat, "gcj02")
    t["lon_wgs84"], t["lat_wgs84"] = lon.round(6), lat.round(6)
    t["lon_gcj02"], t["lat_gcj02"] = glon.round(6), glat.round(6)
    wanted = [i for ids in t["ticket_ids"] for i in ids[:n_texts]]
    texts = hs.latest_texts(con, wanted, f).set_index("ticket_id")
    lines = []
    for ids in t["ticket_ids"]:
        parts = []
        for i in ids[:n_texts]:
            if i in texts.index:
                r = texts.loc[i]
                parts.append(f"{pd.Timestamp(r['received_at']):%Y-%m-%d} {i}：{r['content'] or ''}")
        lines.append("\n".join(parts))
    t["texts"] = lines
    t["repeat"] = t["repeat"].map({True: "是", False: "否"})
    t["first"] = pd.to_datetime(t["first"]).dt.strftime("%Y-%m-%d")
    t["last"] = pd.to_datetime(t["last"]).dt.strftime("%Y-%m-%d")
    return t[[c for c, _, _ in COLUMNS] + ["ticket_ids"]].reset_index(drop=True)


def build(con, f: Filters, *, top: int = DEFAULT_TOP, cell_m: int = hs.DEFAULT_CELL_M,
          hot: hs.Hotspots | None = None) -> VisitList:
    """Compute hotspots for `f` (unless given) and keep the top `top` as the visit list."""
    hot = hot or hs.hotspot_table(con, f, cell_m)
    rows = visit_rows(con, hs.with_ticket_ids(con, hot, top), top, f=f)  # ids listed for these rows only
    notes = list(hot.notes)
    if len(hot.table) > top:
        notes.append(f"共 {len(hot.table)} 处热点/重复点位，清单列出前 {top} 处")
    return VisitList(rows, hot.method, f, tuple(notes), len(hot.table))


def map_figure(v: VisitList, title: str = "走访点位图"):
    """The numbered places over the outlines (plotly static map) for the workbook's image."""
    from analytics import mapviz

    df = v.rows.rename(columns={"lon_wgs84": "lon", "lat_wgs84": "lat"})
    df = df.assign(label=df["rank"].astype(str))
    return mapviz.static_points(df, title=title, subtitle=v.filters.describe(), label_col="label", size_col="n",
                                width=1400, height=900)


def map_png(v: VisitList) -> bytes:
    """PNG of `map_figure` via the shared kaleido server of analytics.export."""
    from analytics.export import figure_bytes

    return figure_bytes(map_figure(v), "png", width=1400, height=900, scale=1.5)


def title_for(f: Filters) -> str:
    what = "、".join(f.topics) or f.text or "全部问题"
    where = "、".join(f.districts) or "全市"
    return f"{where}{what}走访清单"


def to_xlsx(v: VisitList, *, image: bytes | None = None, title: str | None = None,
            generated: datetime | None = None) -> bytes:
    """The workbook: 走访清单 (A4 landscape, header repeated on each page), 点位地图 (image), 说明."""
    import xlsxwriter

    title = title or title_for(v.filters)
    generated = generated or datetime.now()
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    font = "Noto Sans CJK SC"
    f_title = wb.add_format({"bold": True, "font_size": 16, "font_name": font})
    f_sub = wb.add_format({"font_size": 10, "font_color": "#616161", "font_name": font, "text_wrap": True,
                           "valign": "top"})
    f_head = wb.add_format({"bold": True, "bg_color": "#B71C1C", "font_color": "#FFFFFF", "border": 1,
                            "text_wrap": True, "valign": "vcenter", "align": "center", "font_name": font})
    f_cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top", "font_size": 10, "font_name": font})
    f_num = wb.add_format({"border": 1, "valign": "top", "font_size": 10, "font_name": font})
    f_coord = wb.add_format({"border": 1, "valign": "top", "font_size": 10, "num_format": "0.000000",
                             "font_name": font})

    ws = wb.add_worksheet("走访清单")
    last_col = len(COLUMNS) - 1
    ws.merge_range(0, 0, 0, last_col, title, f_title)
    ws.merge_range(1, 0, 1, last_col, f"筛选：{v.filters.describe()}；生成时间：{generated:%Y-%m-%d %H:%M}", f_sub)
    ws.merge_range(2, 0, 2, last_col, f"方法：{v.method}", f_sub)
    ws.set_row(2, 30)
    header_row = 4
    for c, (_, label, width) in enumerate(COLUMNS):
        ws.set_column(c, c, width)
        ws.write_string(header_row, c, label, f_head)
    ws.set_row(header_row, 30)
    if v.rows.empty:
        ws.merge_range(header_row + 1, 0, header_row + 1, last_col, "所选条件下没有发现热点或重复点位", f_cell)
    for r, row in enumerate(v.rows.to_dict("records"), start=header_row + 1):
        for c, (key, _, _) in enumerate(COLUMNS):
            val = row.get(key)
            if key.startswith(("lon_", "lat_")):
                ws.write_number(r, c, float(val), f_coord)
            elif key in ("rank", "n", "n_after_close"):
                ws.write_number(r, c, int(val), f_num)
            else:
                ws.write_string(r, c, neutralise("" if val is None or (isinstance(val, float) and pd.isna(val))
                                                 else str(val)), f_cell)
        n_lines = max(1, str(row.get("texts") or "").count("\n") + 1)
        ws.set_row(r, min(409, 15 * max(2, n_lines * 2)))
    ws.freeze_panes(header_row + 1, 0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.repeat_rows(header_row)
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(0)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, header_row + max(len(v.rows), 1), last_col)

    wm = wb.add_worksheet("点位地图")
    wm.write_string(0, 0, f"{title}：点位图（编号与清单序号一致）", f_title)
    if image:
        wm.insert_image(2, 0, "map.png", {"image_data": io.BytesIO(image), "x_scale": 0.62, "y_scale": 0.62,
                                          "object_position": 3})
    else:
        wm.write_string(2, 0, "（未生成地图图片）", f_sub)
    wm.set_landscape()
    wm.set_paper(9)
    wm.fit_to_pages(1, 1)

    wn = wb.add_worksheet("说明")
    wn.set_column(0, 0, 18)
    wn.set_column(1, 1, 100)
    notes = [
        ("筛选条件", v.filters.describe()),
        ("方法", v.method),
        ("坐标", "WGS84 为卫星定位坐标；GCJ-02 为高德、腾讯等手机地图使用的坐标，可直接输入手机地图导航。"),
        ("隐私", "诉求内容中的姓名、电话、身份证号已按规定脱敏。"),
        ("热点总数", f"{v.total_hotspots} 处（清单列出 {len(v.rows)} 处）"),
        *[("提示", n) for n in v.notes],
    ]
    for r, (k, val) in enumerate(notes):
        wn.write_string(r, 0, k, f_head)
        wn.write_string(r, 1, neutralise(str(val)), f_cell)
    wb.close()
    return buf.getvalue()


def visit_xlsx(con, f: Filters, *, top: int = DEFAULT_TOP, cell_m: int = hs.DEFAULT_CELL_M,
               with_image: bool = True, hot: hs.Hotspots | None = None) -> tuple[bytes, VisitList]:
    """Everything in one call: hotspots, rows, the map image (when rows exist) and the workbook bytes."""
    v = build(con, f, top=top, cell_m=cell_m, hot=hot)
    image = map_png(v) if with_image and len(v.rows) else None
    return to_xlsx(v, image=image), v
