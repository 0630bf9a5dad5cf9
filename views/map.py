"""地图: where problems are, month by month, and which places to visit.

Layout only: numbers come from analytics/maps.py and analytics/hotspots.py,
maps from analytics/mapviz.py (offline folium, local Leaflet), the visit list
from analytics/visits.py. A click on the map or a hotspot row opens the
tickets behind it below the map, or narrows the filters to the street.
"""

from __future__ import annotations

import functools
from datetime import date

import streamlit as st
from streamlit_folium import st_folium

from analytics import hotspots as hs
from analytics import maps, mapviz, overview, theme, visits
from analytics.filters import Filters
from data import scope
from ui import auth, charts, db, drill, filters
from ui.plain import md

ALL = "按侧栏筛选"
VIEWS = ("分布地图", "月度点位图谱", "热点与走访清单")
LAYERS = ("自动", "分区着色", "点位", "热力图")
MAP_HEIGHT = 620


# ---------------------------------------------------------------- cached data
@st.cache_data(show_spinner=False, ttl=600, max_entries=32)
def _topics(_cur, version: str) -> tuple[str, ...]:
    from analytics.options import filter_options

    return filter_options(_cur).topics


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _areas(_cur, version: str, f: Filters, level: str):
    return maps.area_values(_cur, f, level)


@st.cache_data(show_spinner=False, ttl=600, max_entries=16)
def _has_population(_cur, version: str) -> bool:
    return overview.has_population(_cur)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _geography(_cur, version: str, f: Filters) -> tuple[str, str] | None:
    return maps.geography_note(_cur, f)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _unplaceable(_cur, version: str, f: Filters) -> str | None:
    return maps.unplaceable_note(_cur, f)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _quick(_cur, version: str, f: Filters) -> tuple[int, int]:
    return maps.quick_counts(_cur, f)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _unplaced(_cur, version: str, f: Filters) -> int:
    return maps.unplaced_count(_cur, f)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _layer(_cur, version: str, f: Filters, limit: int):
    return maps.point_layer(_cur, f, limit)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _months(_cur, version: str, f: Filters):
    return maps.monthly_counts(_cur, f)


@st.cache_data(show_spinner="正在计算热点（Getis-Ord Gi*）…", ttl=600, max_entries=16)
def _hotspots(_cur, version: str, f: Filters, cell_m: int):
    return hs.hotspot_table(_cur, f, cell_m)


def _visit_bytes(f: Filters, cell_m: int, sc: scope.Scope) -> bytes:
    """Runs on click, outside the script thread: borrows its own cursor, in the user's scope."""
    with db.borrow(sc) as (con, _version):
        data, _ = visits.visit_xlsx(con, f, cell_m=cell_m)
    return data


def _show_tickets(df, title: str) -> None:
    if df.empty:
        st.info("此处没有符合条件的工单。")
        return
    st.markdown(f"**{title}**（{len(df):,} 件）")
    charts.table(maps.ticket_table(df), key=drill.key("map_tickets"), title=title,
                 height=min(420, 38 + 35 * len(df)))


def _street_actions(where: dict, key: str) -> None:
    # a region pack without streets: the district is the finest place
    dim, name = ("street", f"{where['district']}/{where['street']}") if where.get("street") else \
        ("district", where["district"])
    c1, c2 = st.columns(2)
    if c1.button(f"筛选到 {where['district']} {where.get('street') or ''}".rstrip(), key=f"{key}_narrow"):
        nf, label = drill.narrow(fm, dim, name)
        drill.go(nf, label)
    if c2.button("在工单页查看该街道的工单" if dim == "street" else "在工单页查看该区县的工单", key=f"{key}_open"):
        nf, label = drill.narrow(fm, dim, name)
        drill.go(nf, label, open_tickets=True)


def _clicked(state) -> tuple[float, float] | None:
    pt = (state or {}).get("last_clicked")
    if not pt:
        return None
    return mapviz.click_to_wgs84(pt["lng"], pt["lat"])


def _draw(m, key: str, *, returned=("last_clicked",)):
    return st_folium(m, use_container_width=True, height=MAP_HEIGHT, returned_objects=list(returned), key=key)


# ---------------------------------------------------------------- page
me = auth.require()
cur = db.require_cursor()
f = filters.current()
version = db.db_version()
limit = maps.max_features()

st.title("地图")
filters.undo_bar()

problem = st.segmented_control("问题", [ALL, *maps.PRESETS], default=ALL, key="map_problem",
                               help="井盖、污水/排污、假冒伪劣为预设专题；其他问题请在侧栏选择专项或分类")
fm = maps.preset_filters(f, problem, _topics(cur, version)) if problem and problem != ALL else f
st.caption(f"筛选条件：{md(fm.describe())}")
view = st.segmented_control("视图", VIEWS, default=VIEWS[0], key="map_view") or VIEWS[0]

if view != VIEWS[0] and fm.date_to is not None:
    period = st.segmented_control("期间", ["近 12 个月", "所选日期"], default="近 12 个月", key="map_period",
                                  help="月度点位图谱与热点分析默认看截至所选结束日期的近 12 个月") or "近 12 个月"
    if period == "近 12 个月":
        fm = maps.last_months(fm, 12)
        st.caption(f"分析期间：{fm.date_from} 至 {fm.date_to}")

total, located = _quick(cur, version, fm)  # located: tickets with coordinates (drawable or not)
if total == 0:
    st.info("所选条件下暂无工单，请放宽日期、区域或问题等筛选条件。")
    st.stop()
geo_note = _geography(cur, version, fm)   # not in the active region, or a region without geography
if geo_note:
    (st.info if geo_note[0] == "info" else st.warning)(geo_note[1])
    if not maps.region_has("geography"):
        st.stop()
unplaceable = _unplaceable(cur, version, fm)   # nothing of the selection lies in the region: no empty map
if unplaceable:
    st.info(unplaceable)
    st.stop()

# ---------------------------------------------------------------- distribution
if view == VIEWS[0]:
    c1, c2, c3 = st.columns([2, 1.3, 2])
    layer_choice = c1.segmented_control("图层", LAYERS, default="自动", key="map_layer") or "自动"
    small = maps.shows_points(fm, located, limit)
    if layer_choice == "自动":
        layer_choice = "点位" if small else "分区着色"
        st.caption(f"自动：{'所选范围较小，显示点位' if small else '全市范围，显示分区着色；选择区/街道或专题后显示点位'}")
    if layer_choice == "分区着色":
        levels = [lv for lv in theme.MAP_LEVELS if lv != "street" or maps.region_has("streets")]
        level = c2.segmented_control("层级", levels, default="street" if fm.districts and len(levels) > 1 else "district",
                                     format_func=theme.MAP_LEVELS.get, key="map_level") or "district"
        metric = c3.segmented_control("指标", [m for m in maps.METRICS if m != "per_10k" or _has_population(cur, version)],
                                      default="n", format_func=maps.METRICS.get, key="map_metric") or "n"
        if metric == "change" and fm.previous_period() is None:
            st.warning("较上期变化需要完整的起止日期。")
        areas = _areas(cur, version, fm, level)
        m = mapviz.choropleth_map(areas, level, metric, fit=bool(fm.districts or fm.streets))
        notes = []
        if level == "street":
            notes.append("街乡常住人口为区人口按街乡数平均分摊的估算值，每万人指标仅供参考")
        unplaced = _unplaced(cur, version, fm)
        if unplaced:
            notes.append(f"{unplaced:,} 件工单未定位到街乡，未计入")
        if notes:
            st.caption("；".join(notes))
        state = _draw(m, "map_choropleth")
        pt = _clicked(state)
        if pt:
            where = maps.street_at(*pt)
            if where is None:
                st.info(f"点击位置不在{maps.region_label()}范围内。")
            else:
                n = maps.count_at(areas, where, level)
                unit = where["street"] if level == "street" else where["district"]
                st.markdown(f"**点击位置：{where['district']} {where['street'] or ''}** — {unit}工单 {n:,} 件")
                _street_actions(where, "map_choro")
    else:
        lay = _layer(cur, version, fm, limit)
        st.caption(lay.note)
        m = mapviz.heat_map(lay) if layer_choice == "热力图" else mapviz.points_map(lay)
        state = _draw(m, f"map_{'heat' if layer_choice == '热力图' else 'points'}")
        pt = _clicked(state)
        if pt:
            where = maps.street_at(*pt)
            if lay.mode == "grid":
                gi, gj = lay.grid.index(pt[0], pt[1])
                df = maps.tickets_in_cell(cur, fm, lay.grid, int(gi), int(gj))
                _show_tickets(df, f"点击的 {lay.grid.label()} 网格内的工单")
            else:
                radius = 300 if layer_choice == "热力图" else 150
                df = maps.tickets_near(cur, fm, pt[0], pt[1], radius)
                _show_tickets(df, f"点击处 {radius} 米内的工单")
            if where:
                _street_actions(where, "map_pts")
        else:
            st.caption("点击地图上的点位或网格，查看其后的工单。")

# ---------------------------------------------------------------- monthly point map
elif view == VIEWS[1]:
    months = _months(cur, version, fm)
    if months.empty:
        st.info("所选条件下暂无工单。")
        st.stop()
    charts.chart(mapviz.monthly_figure(months, title="逐月工单量", subtitle=fm.describe()),
                 key="map_months_bar", title="逐月工单量", filters=fm, height=280)
    labels = [f"{m:%Y-%m}" for m in months["month"]]
    chosen = st.select_slider("月份", options=labels, value=labels[-1], key="map_month") if len(labels) > 1 \
        else labels[0]
    month = months["month"].iloc[labels.index(chosen)]
    month = month.date() if hasattr(month, "date") else date.fromisoformat(str(month)[:10])
    mf = maps.month_filters(fm, month)
    style = st.segmented_control("显示", ["点位", "热力图"], default="点位", key="map_month_style") or "点位"
    lay = _layer(cur, version, mf, limit)
    st.caption(f"{chosen}：{lay.total:,} 件工单；{lay.note}")
    m = mapviz.heat_map(lay) if style == "热力图" else mapviz.points_map(lay, title=f"{chosen} 点位")
    state = _draw(m, "map_month_points")
    pt = _clicked(state)
    if pt:
        if lay.mode == "grid":
            gi, gj = lay.grid.index(pt[0], pt[1])
            _show_tickets(maps.tickets_in_cell(cur, mf, lay.grid, int(gi), int(gj)), f"{chosen} 点击网格内的工单")
        else:
            _show_tickets(maps.tickets_near(cur, mf, pt[0], pt[1], 150), f"{chosen} 点击处 150 米内的工单")

# ---------------------------------------------------------------- hotspots and visit list
else:
    c1, c2 = st.columns([1, 3])
    cell_m = c1.selectbox("网格大小（米）", [250, 500, 1000], index=1, key="map_cell")
    if not (fm.topics or fm.categories or fm.text):
        c2.warning("热点分析宜针对单一问题：请选择上方预设专题，或在侧栏选择专项/分类。当前按全部工单计算。")
    hot = _hotspots(cur, version, fm, int(cell_m))
    st.caption(f"方法：{hot.method}")
    for n in hot.notes:
        st.caption(n)
    st.markdown(f"统计热点 **{len(hot.gi.clusters)}** 处，重复点位 **{int(hot.places['repeat'].sum()) if len(hot.places) else 0}** 处"
                f"（{hot.tickets_used:,} 件带坐标工单）")
    if len(hot.table) > 600:
        st.caption(f"地图显示排名前 600 处（共 {len(hot.table):,} 处），完整列表见下表")
    _draw(mapviz.hotspot_map(hot.gi.cells, hot.gi.grid, hot.table, max_marks=600), "map_hotspots", returned=())
    if hot.table.empty:
        st.info("未发现统计热点或重复点位。")
    else:
        st.markdown("**热点排名**（点击一行查看其工单）")
        shown = hs.display_table(hot.table)
        rows = charts.table(
            shown, key=drill.key("map_hot_table"), title="热点排名", select=True, filters=fm,
            column_config={"逐月工单": st.column_config.LineChartColumn("逐月工单", width="small")},
            export_data=lambda: hs.display_table(hot.table).drop(columns=["逐月工单"]),
        )
        if rows:
            r = hot.table.iloc[rows[0]]
            ids = hs.ticket_ids(cur, hot, [rows[0]])[0]  # listed for the opened row only
            df = maps.tickets_by_ids(cur, ids, f=fm) if ids else hs.cluster_tickets(cur, fm, hot.gi, int(r["cluster"]))
            _show_tickets(df, f"#{r['rank']} {r['street']} {r['address']}")
            where = maps.street_at(float(r["lon"]), float(r["lat"]))
            if where:
                _street_actions(where, "map_hot")
    st.download_button(
        "⬇ 下载走访清单（XLSX，含地图）",
        data=auth.audited(me, "download", visits.title_for(fm) + ".xlsx", {"what": "visits", "filters": fm.to_query()},
                          functools.partial(_visit_bytes, fm, int(cell_m), me.scope)),
        file_name=visits.title_for(fm) + ".xlsx", key="map_visits_dl", on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        help="热点与重复点位的地址、WGS84 与 GCJ-02 坐标、工单量、日期、最近诉求（已脱敏）和点位图，按 A4 横向排版",
    )
