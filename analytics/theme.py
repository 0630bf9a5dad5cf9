"""The house style: colours, fonts and Chinese labels shared by screen and exports.

Every figure builder calls `style()` so charts on screen and in exported
briefings look the same. Labels for column names live here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from data import settings

# Procuratorate red first, then a calm qualitative palette.
PRIMARY = "#B71C1C"
ACCENT = "#1565C0"
GREY = "#9E9E9E"
PALETTE = ["#B71C1C", "#1565C0", "#2E7D32", "#EF6C00", "#6A1B9A", "#00838F", "#AD1457", "#4E342E",
           "#558B2F", "#283593", "#F9A825", "#37474F"]
SEQUENTIAL = ["#FFF5F0", "#FDD0C0", "#FC9272", "#EF3B2C", "#CB181D", "#99000D"]
DIVERGING = ["#1565C0", "#90CAF9", "#F5F5F5", "#EF9A9A", "#B71C1C"]
UP = "#C62828"     # rising complaints are bad news
DOWN = "#2E7D32"

SOURCE_LINE = "数据来源：12345市民服务热线工单、检察机关线索案件台账"

# ---------------------------------------------------------------- labels
# Every column header and every name of a dimension or a choice shown to the user lives here; pages and
# figure builders look them up instead of writing their own. Analytics modules keep the whitelists (which
# keys exist, which SQL they mean) and take the Chinese words from here.

# Column headers of the tables shown and exported: one meaning per column name.
LABELS = {
    "ticket_id": "工单编号", "received_at": "受理时间", "channel": "渠道", "appeal_type": "诉求类型",
    "category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类", "topic": "专项",
    "content": "诉求内容", "district": "区", "street": "街道/乡镇", "address": "详细地址",
    "lon": "经度", "lat": "纬度", "handling_unit": "承办单位", "status": "办理状态",
    "responded_at": "响应时间", "closed_at": "办结时间", "satisfaction": "满意度", "resolved": "是否解决",
    "complainant_name": "诉求人", "complainant_phone": "联系电话",
    "reply": "答复意见", "extra": "其他字段",
    "clue_id": "线索编号", "created_at": "登记时间", "function": "检察职能", "department": "承办部门",
    "source": "线索来源", "reviewed_at": "审查时间", "case_id": "案件编号", "filed_at": "立案时间",
    "case_type": "案件类型", "measure": "监督措施", "measure_at": "措施时间", "reply_due_at": "回复期限",
    "replied_at": "回复时间", "rectified_at": "整改时间", "result": "整改结果", "followed_up_at": "回头看时间",
    "outcome": "整改成效", "n": "工单量", "count": "数量", "per_10k": "每万人工单量", "population": "常住人口",
    "day": "日期", "week": "周", "month": "月份", "share": "占比", "change": "变化", "word": "词语",
    # the funnel's tables (analytics/funnel.py)
    "tickets": "工单", "clues": "线索", "cases": "立案", "rectified": "整改",
    "clue_rate": "工单→线索", "case_rate": "线索→立案",
    "stage": "环节", "median_days": "中位数（天）", "p90_days": "90%分位（天）",
    "rule": "期限", "days": "天数", "total": "件数", "on_time": "按期", "late": "超期办结", "overdue": "逾期未办",
    "pending": "未到期", "compliance": "按期率",
    "item_id": "编号", "start_at": "起算时间", "due_at": "到期时间", "done_at": "办结时间", "state": "状态",
    "days_over": "超期天数",
    # a ticket's way through clue, case and rectification (analytics/tickets.path)
    "at": "时间", "step": "环节", "ref": "编号", "detail": "说明",
    "distance_m": "距离（米）",
    # the clue ledger (analytics/ledger.py, data/ledger)
    "origin": "登记方式", "source_label": "线索来源", "summary": "线索摘要", "handler": "承办人",
    "registered_at": "登记时间", "stage_label": "当前环节", "next_rule": "下一期限", "next_due": "到期日",
    "due_state": "期限状态", "conflict": "导入冲突", "subject": "被监督对象", "place": "地点",
    "decided_at": "审查决定时间", "suggested_at": "检察建议时间", "urgent": "紧急",
    "assessed_at": "评估时间", "notified_at": "书面告知时间", "transfer_to": "移送单位",
    "addressee": "建议对象", "registered_by": "登记人", "item": "成效项目", "unit": "单位", "value": "数量合计",
}
# The ledger's own headers where a key means something else elsewhere.
LEDGER_HEADERS = {"tickets": "关联工单", "outcome": "审查决定", "days_over": "超期天数（负数为剩余天数）",
                  "cases": "案件数", "result": "整改结果", "closed_at": "结案时间"}
# Where one table gives a column a narrower meaning, its own headers (passed to `labelled`).
ITEM_COUNT = {"n": "件数"}                              # the funnel's stage durations: items, not tickets
FROM_CLICK = {"distance_m": "距点击处（米）"}            # the map's tickets near a click

# Dimensions and choices.
GRAIN_LABELS = {"day": "按日", "week": "按周", "month": "按月"}
GRAIN_UNITS = {"day": "日", "week": "周", "month": "月"}
CATEGORY_LEVELS = {1: "一级分类", 2: "二级分类", 3: "三级分类"}
CATEGORY_LEVELS_SHORT = {"category_l1": "一级", "category_l2": "二级", "category_l3": "三级"}
CHANGE_DIMENSIONS = {"category_l3": "三级分类", "street": "街道/乡镇", "district": "区", "topic": "专项",
                     "category_l2": "二级分类", "category_l1": "一级分类"}
RANK_METRICS = {"n": "工单量", "per_10k": "每万常住人口"}
MAP_METRICS = {"n": "工单量", "per_10k": "每万人工单量", "change": "较上期变化"}
MAP_LEVELS = {"district": "区", "street": "街道/乡镇"}
KPI_LABELS = {"tickets": "工单量", "located": "已定位工单", "clues": "线索", "cases": "立案", "rectified": "已整改"}
RATE_LABELS = {"response": "响应率", "resolution": "解决率", "satisfaction": "满意率"}
# A ticket's geo_flag (docs/import.md) in words
GEO_FLAG_LABELS = {
    "no_coords": "无坐标",
    "by_address": "无坐标，已按地址文字定位到区/街道",
    "outside_region": "坐标不在本区域范围内",
    "outside_polygons": "坐标不在任何街道/乡镇边界内",
    "district_mismatch": "所属区与坐标所在区不一致",
    "swapped_fixed": "经纬度颠倒，已纠正",
}
RATE_HELP = {"response": "已响应工单 ÷ 全部工单", "resolution": "回访认定已解决 ÷ 已办结工单",
             "satisfaction": "（满意 + 基本满意）÷ 已评价工单"}
FUNNEL_STAGES = {"tickets": "诉求工单", "clues": "线索", "cases": "立案", "rectified": "整改"}
FUNNEL_SPLITS = {"district": "区", "topic": "专项", "function": "检察职能"}
FUNNEL_DURATIONS = {
    "ticket_clue": "工单→线索登记",
    "clue_review": "线索登记→审查",
    "clue_case": "线索登记→立案",
    "case_measure": "立案→监督措施",
    "measure_reply": "措施→回复",
    "case_rectified": "立案→整改",
}
DEADLINE_RULES = {"clue_review": "线索审查", "suggestion_reply": "检察建议回复", "urgent_reply": "紧急检察建议回复"}
DEADLINE_STATES = {"on_time": "按期", "late": "超期办结", "overdue": "逾期未办", "pending": "未到期"}
TICKET_STAGES = {"": "全部工单", "clues": "已形成线索", "cases": "已立案", "rectified": "已整改",
                 "overdue": "超期工单"}
TICKET_SORTS = {"received_at": "受理时间", "district": "区", "street": "街道/乡镇", "category_l3": "三级分类",
                "topic": "专项", "status": "办理状态", "ticket_id": "工单编号"}
WORD_KINDS = {"word": "词语", "phrase": "短语（相邻两词）"}
EMERGING_KINDS = {"word": "词语", "phrase": "短语", "category": "三级分类"}
BASELINES = {"previous": "之前的若干个等长周期", "year": "去年同期"}
YES_NO = {True: "是", False: "否"}


def label(col: str) -> str:
    return LABELS.get(col, col)


def labelled(df: pd.DataFrame, own: dict[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """The frame with Chinese column headers: a table's `own` headers first, then LABELS; `drop` columns left out
    (e.g. the English key behind a label)."""
    own = own or {}
    out = df.drop(columns=[c for c in drop if c in df.columns]) if drop else df
    return out.rename(columns={c: own.get(c) or label(c) for c in out.columns})


def font_family() -> str:
    return f"{settings.get('HOTLINE_FONT')}, Noto Sans CJK SC, WenQuanYi Zen Hei, Microsoft YaHei, sans-serif"


TEMPLATE = "plotly_white"
# Every figure built in this process starts from the house template: plotly's documented default-template
# setting (`plotly.io.templates.default`), which assigns the registered (already valid) template when a figure
# is created. Setting it per figure with `update_layout(template=...)` deep-copies and re-validates the whole
# template: ~10 ms a figure, for the same figure JSON.
pio.templates.default = TEMPLATE


def _set_template(fig: go.Figure) -> None:
    """Make sure the figure carries the house template (it does, unless someone changed plotly's default)."""
    if pio.templates.default != TEMPLATE:
        fig.update_layout(template=TEMPLATE)


# Plotly draws text as a subset of HTML (<b>, <br>, <a href=...>, <span style=...>): text from citizens, files
# or URLs in a chart (categories, addresses, words, the filter line) would become bold text or a clickable link.
# Their angle brackets are written as entities, which plotly shows as the characters themselves.
_TEXT_ATTRS = ("x", "y", "labels", "parents", "ids", "text", "hovertext", "customdata", "name")


def plain(text) -> str:
    """`text` shown literally by plotly (its tags written as entities)."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;")


def unplain(value):
    """The original of a value `plain()` wrote (e.g. a clicked mark's customdata); other values unchanged."""
    return value.replace("&lt;", "<").replace("&gt;", ">") if isinstance(value, str) else value


def plain_traces(fig: go.Figure) -> go.Figure:
    """Make every text a trace shows (axis categories, labels, hover texts, names) literal; in place, idempotent."""
    for trace in fig.data:
        for attr in _TEXT_ATTRS:
            if attr not in trace:
                continue
            v = trace[attr]
            if isinstance(v, str):
                if "<" in v or ">" in v:
                    trace[attr] = plain(v)
                continue
            if v is None or (isinstance(v, np.ndarray) and v.dtype.kind in "biufcmM"):
                continue
            arr = np.asarray(v, dtype=object)
            if arr.ndim == 0:
                continue
            flat = arr.ravel()
            hit = [i for i, x in enumerate(flat) if isinstance(x, str) and ("<" in x or ">" in x)]
            if hit:
                for i in hit:
                    flat[i] = plain(flat[i])
                trace[attr] = flat.reshape(arr.shape).tolist() if arr.ndim > 1 else flat.tolist()
    return fig


def style(fig: go.Figure, *, title: str | None = None, subtitle: str | None = None,
          height: int | None = None, legend: bool = True) -> go.Figure:
    """Apply the house style in place and return the figure (texts from the data made literal: plain_traces)."""
    _set_template(fig)
    plain_traces(fig)
    fig.update_layout(
        font={"family": font_family(), "size": 14, "color": "#212121"},
        colorway=PALETTE,
        margin={"l": 60, "r": 30, "t": 80 if title else 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        showlegend=legend,
        hoverlabel={"font": {"family": font_family()}},
    )
    if title:
        text = f"<b>{plain(title)}</b>"
        if subtitle:
            text += f"<br><span style='font-size:12px;color:#616161'>{plain(subtitle)}</span>"
        fig.update_layout(title={"text": text, "x": 0.01, "xanchor": "left"})
    if height:
        fig.update_layout(height=height)
    return fig


def empty_figure(message: str = "所选条件下暂无数据") -> go.Figure:
    """A blank figure that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16, "color": GREY},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, legend=False)


def print_style(fig: go.Figure, *, height: int | None = None) -> go.Figure:
    """The house style for print (the briefing pack), applied in place over `style()`: no chart title (the
    page's heading and caption say what it shows), no click selection, room for the axis labels."""
    fig.update_layout(title=None, clickmode="none", margin={"l": 70, "r": 40, "t": 40, "b": 50})
    if height:
        fig.update_layout(height=height)
    return fig


# ---------------------------------------------------------------- the wall screen (大屏)
# Dark by default (a wall in a meeting room), light as a setting (HOTLINE_SCREEN_THEME). The house red and blue,
# lifted in the dark variant so they read on a navy ground; the map's classes run from the ground colour to red.
SCREEN_THEMES = {
    "dark": {
        "bg": "#06121F", "panel": "#0B1D33", "border": "#1A3556", "text": "#E9EFF7", "muted": "#93A7C2",
        "grid": "#1C324F", "primary": "#EF5350", "accent": "#4FA3F7", "up": "#FF6B6B", "down": "#4CD08A",
        "title": "#FFFFFF", "line_now": "#FF6B5E", "line_last": "#8EA3BE", "bar": "#4FA3F7", "hot": "#FFC400",
        "outline": "#3A5A82", "no_data": "#0E2540",
        "map": ["#12304F", "#4A2A4A", "#7A2434", "#A8232B", "#D9362F", "#FF6A4D"],
    },
    "light": {
        "bg": "#EEF2F7", "panel": "#FFFFFF", "border": "#D3DCE8", "text": "#1B2633", "muted": "#5B6B80",
        "grid": "#E3E9F1", "primary": PRIMARY, "accent": ACCENT, "up": UP, "down": DOWN,
        "title": "#0D1B2A", "line_now": PRIMARY, "line_last": GREY, "bar": ACCENT, "hot": "#EF6C00",
        "outline": "#7D8FA6", "no_data": "#F3F5F8",
        "map": SEQUENTIAL,
    },
}
# Colours of the special projects on the all-projects map (one per project in the rotation's order).
SCREEN_PROJECT_COLOURS = ["#FFC400", "#4FC3F7", "#B388FF", "#69F0AE", "#FF8A65", "#F06292", "#AED581", "#FFD180"]


def screen_colours(mode: str) -> dict:
    """The wall screen's colours for `mode` ('dark' or 'light')."""
    if mode not in SCREEN_THEMES:
        raise ValueError(f"screen theme must be one of {tuple(SCREEN_THEMES)}")
    return SCREEN_THEMES[mode]


def screen_style(fig: go.Figure, mode: str = "dark", scale: float = 1.0, *, height: int | None = None,
                 legend: bool = False) -> go.Figure:
    """The wall screen's style, in place: transparent ground (the panel shows through), large type, no title
    (the panel's heading says what it shows), no mode bar or selection."""
    c = screen_colours(mode)
    _set_template(fig)
    fig.update_layout(
        font={"family": font_family(), "size": round(18 * scale), "color": c["text"]},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", colorway=PALETTE,
        margin={"l": round(12 * scale), "r": round(12 * scale), "t": round(8 * scale), "b": round(8 * scale)},
        showlegend=legend, clickmode="none", dragmode=False,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1,
                "font": {"size": round(17 * scale), "color": c["text"]}, "bgcolor": "rgba(0,0,0,0)"},
        hoverlabel={"font": {"family": font_family()}},
    )
    fig.update_xaxes(gridcolor=c["grid"], zerolinecolor=c["grid"], linecolor=c["grid"],
                     tickfont={"size": round(16 * scale), "color": c["muted"]})
    fig.update_yaxes(gridcolor=c["grid"], zerolinecolor=c["grid"], linecolor=c["grid"],
                     tickfont={"size": round(16 * scale), "color": c["muted"]})
    if height:
        fig.update_layout(height=height)
    return fig
