"""The house style: colours, fonts and Chinese labels shared by screen and exports.

Every figure builder calls `style()` so charts on screen and in exported
briefings look the same. Labels for column names live here too.
"""

from __future__ import annotations

import plotly.graph_objects as go

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

LABELS = {
    "ticket_id": "工单编号", "received_at": "受理时间", "channel": "渠道", "appeal_type": "诉求类型",
    "category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类", "topic": "专项",
    "content": "诉求内容", "district": "区", "street": "街道/乡镇", "address": "详细地址",
    "lon": "经度", "lat": "纬度", "handling_unit": "承办单位", "status": "办理状态",
    "responded_at": "响应时间", "closed_at": "办结时间", "satisfaction": "满意度", "resolved": "是否解决",
    "complainant_name": "诉求人", "complainant_phone": "联系电话",
    "clue_id": "线索编号", "created_at": "登记时间", "function": "检察职能", "department": "承办部门",
    "source": "线索来源", "reviewed_at": "审查时间", "case_id": "案件编号", "filed_at": "立案时间",
    "case_type": "案件类型", "measure": "监督措施", "measure_at": "措施时间", "reply_due_at": "回复期限",
    "replied_at": "回复时间", "rectified_at": "整改时间", "result": "整改结果", "followed_up_at": "回头看时间",
    "outcome": "整改成效", "n": "工单量", "count": "数量", "per_10k": "每万人工单量", "population": "常住人口",
    "day": "日期", "week": "周", "month": "月份", "share": "占比", "change": "变化", "word": "词语",
}


def font_family() -> str:
    return f"{settings.get('HOTLINE_FONT')}, Noto Sans CJK SC, WenQuanYi Zen Hei, Microsoft YaHei, sans-serif"


def label(col: str) -> str:
    return LABELS.get(col, col)


def _set_template(fig: go.Figure) -> None:
    """Give the figure the plotly_white template without re-validating it.

    `update_layout(template="plotly_white")` deep-copies and validates the whole
    template on every call (≈40 ms a figure, most of a page's Python time on a
    rerun). The registered template is valid already, so it is assigned the way
    plotly assigns its default template (validation off); the figure JSON is the same.
    """
    import plotly.io as pio

    lay = getattr(fig, "_layout_obj", None)
    if lay is None or not hasattr(lay, "_validate"):  # plotly internals moved: the slow, public way
        fig.update_layout(template="plotly_white")
        return
    lay._validate = False
    try:
        lay.template = pio.templates["plotly_white"]
    finally:
        lay._validate = getattr(fig, "_validate", True)


def style(fig: go.Figure, *, title: str | None = None, subtitle: str | None = None,
          height: int | None = None, legend: bool = True) -> go.Figure:
    """Apply the house style in place and return the figure."""
    _set_template(fig)
    fig.update_layout(
        font={"family": font_family(), "size": 14, "color": "#212121"},
        colorway=PALETTE,
        margin={"l": 60, "r": 30, "t": 80 if title else 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        showlegend=legend,
        hoverlabel={"font": {"family": font_family()}},
    )
    if title:
        text = f"<b>{title}</b>"
        if subtitle:
            text += f"<br><span style='font-size:12px;color:#616161'>{subtitle}</span>"
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
