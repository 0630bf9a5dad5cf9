"""Figures of the 热点 page, built from the frames of analytics/topics.py.

Pure builders (DataFrame -> go.Figure) in the house style, so the screen and
exported briefings show the same charts. Each figure carries in `customdata`
what a click on it should select (a category path, a word), which the page
turns into a filter change or a list of example tickets.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from analytics import theme

GRAIN_LABELS = theme.GRAIN_UNITS


# Above this many cells the treemap shows two levels at a time (a click opens the third): drawing all
# three levels of a Beijing year (≈100 cells, three lines of text each) took 0.6 s in Chromium, two 0.3 s.
TREEMAP_FULL_DEPTH_MAX = 40


def category_treemap(tree: pd.DataFrame, *, title: str = "高频问题分类", subtitle: str | None = None) -> go.Figure:
    """Treemap of the three category levels; ids are category paths (customdata too)."""
    if tree.empty:
        return theme.empty_figure()
    fig = go.Figure(go.Treemap(
        ids=tree["id"], labels=tree["label"], parents=tree["parent"], values=tree["n"],
        customdata=tree[["id"]].to_numpy(), branchvalues="total",
        maxdepth=3 if len(tree) <= TREEMAP_FULL_DEPTH_MAX else 2,
        texttemplate="<b>%{label}</b><br>%{value:,} 件<br>%{percentRoot:.1%}",
        hovertemplate="%{id}<br>工单量 %{value:,} 件<br>占全部 %{percentRoot:.1%}<extra></extra>",
        marker={"colorscale": theme.SEQUENTIAL, "colors": tree["n"], "line": {"width": 1, "color": "white"}},
        pathbar={"visible": True},
    ))
    theme.style(fig, title=title, subtitle=subtitle, legend=False, height=520)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 100, "b": 10})
    return fig


def words_bar(words: pd.DataFrame, *, title: str = "高频词语", subtitle: str | None = None) -> go.Figure:
    """Horizontal bars of the top words (largest on top); customdata is the word."""
    if words.empty:
        return theme.empty_figure("所选条件下暂无词语")
    d = words.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=d["n"], y=d["word"], orientation="h", marker_color=theme.PRIMARY,
        customdata=d[["word", "share"]].to_numpy(),
        text=[f"{n:,}" for n in d["n"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{customdata[0]}<br>涉及工单 %{x:,} 件（占 %{customdata[1]:.1%}）<extra></extra>",
    ))
    theme.style(fig, title=title, subtitle=subtitle, legend=False, height=max(360, 24 * len(d) + 120))
    fig.update_xaxes(title_text="涉及工单数（件）")
    fig.update_yaxes(title_text=None, type="category")
    return fig


def trend_lines(trend: pd.DataFrame, *, grain: str = "week", title: str = "趋势",
                subtitle: str | None = None) -> go.Figure:
    """One line per key (word or category path) over periods; customdata is (key, period)."""
    if trend.empty:
        return theme.empty_figure("请选择要查看趋势的词语或分类")
    fig = go.Figure()
    for i, (key, g) in enumerate(trend.groupby("key", sort=False)):
        periods = pd.to_datetime(g["period"])
        fig.add_trace(go.Scatter(
            x=periods, y=g["n"], mode="lines+markers", name=str(key),
            line={"color": theme.PALETTE[i % len(theme.PALETTE)], "width": 2},
            customdata=[[key, p.date().isoformat()] for p in periods],
            hovertemplate=f"{key}<br>%{{x|%Y-%m-%d}} 起的{GRAIN_LABELS.get(grain, '')}：%{{y:,}} 件<extra></extra>",
        ))
    theme.style(fig, title=title, subtitle=subtitle, height=420)
    fig.update_xaxes(title_text=f"时间（按{GRAIN_LABELS.get(grain, '')}）")
    fig.update_yaxes(title_text="工单数（件）", rangemode="tozero")
    return fig


def emerging_chart(em: pd.DataFrame, *, top: int = 20, title: str = "新兴热点：本期与基线的比值",
                   subtitle: str | None = None) -> go.Figure:
    """Rate ratios with their 95% intervals (log scale) for the top keys; significant ones in red."""
    if em.empty:
        return theme.empty_figure(em.attrs.get("message") or "没有可检验的词语")
    d = em.head(top).iloc[::-1].copy()
    finite_hi = d["ci_high"].replace(math.inf, float("nan"))
    cap = max(float(finite_hi.max()) if finite_hi.notna().any() else 1.0,
              float(d["ci_low"].max()) if len(d) else 1.0, 2.0) * 1.5
    ratio = d["ratio"].where(d["ratio"] != math.inf, cap)
    hi = d["ci_high"].where(d["ci_high"] != math.inf, cap)
    lo = d["ci_low"].clip(lower=1e-3)
    colours = [theme.UP if s else theme.GREY for s in d["significant"]]
    labels = [f"{k}（新）" if n else str(k) for k, n in zip(d["key"], d["new"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=ratio, y=labels, mode="markers", marker={"color": colours, "size": 10},
        error_x={"type": "data", "symmetric": False, "array": hi - ratio, "arrayminus": ratio - lo,
                 "color": "#757575", "thickness": 1.5},
        customdata=d[["key", "x", "y", "q"]].to_numpy(),
        hovertemplate=("%{customdata[0]}<br>本期 %{customdata[1]} 件，基线 %{customdata[2]} 件"
                       "<br>比值 %{x:.2f}，q = %{customdata[3]:.3g}<extra></extra>"),
    ))
    fig.add_vline(x=1, line_dash="dot", line_color=theme.GREY)
    theme.style(fig, title=title, subtitle=subtitle, legend=False, height=max(360, 26 * len(d) + 120))
    fig.update_xaxes(type="log", title_text="占比之比（本期 / 基线，对数刻度，误差线为95%置信区间）")
    fig.update_yaxes(title_text=None, type="category")
    return fig


def examples_table(ex: pd.DataFrame) -> pd.DataFrame:
    """Example tickets with Chinese column names, for display."""
    return ex.rename(columns=theme.LABELS)


def emerging_table(em: pd.DataFrame, *, top: int = 50) -> pd.DataFrame:
    """The first `top` rows of emerging() as a readable table (Chinese columns, rounded, interval as text)."""
    d = em.head(top)

    def fmt(v: float) -> str:
        return "∞" if v == math.inf else f"{v:.2f}"

    return pd.DataFrame({
        "词语/分类": d["key"],
        "本期工单": d["x"].astype("int64"),
        "基线工单": d["y"].astype("int64"),
        "按基线预期": d["expected"].round(1),
        "本期每万件": d["rate_now"].round(1),
        "基线每万件": d["rate_base"].round(1),
        "比值": [fmt(v) for v in d["ratio"]],
        "95%置信区间": [f"{fmt(lo)} – {fmt(hi)}" for lo, hi in zip(d["ci_low"], d["ci_high"], strict=True)],
        "p值": d["p"].map(lambda v: f"{v:.2g}"),
        "q值": d["q"].map(lambda v: f"{v:.2g}"),
        "显著上升": d["significant"].map({True: "是", False: "否"}),
        "新出现": d["new"].map({True: "是", False: ""}),
    })


LEVEL_LABELS = theme.CATEGORY_LEVELS


def category_bar(tree: pd.DataFrame, *, level: int = 3, top: int = 15, title: str | None = None,
                 subtitle: str | None = None) -> go.Figure:
    """Horizontal bars of the largest categories at one level; customdata is the category path."""
    if level not in LEVEL_LABELS:
        raise ValueError("level must be 1, 2 or 3")
    d = tree.loc[tree["level"] == level].nlargest(top, "n", keep="first") if not tree.empty else tree
    if d.empty:
        return theme.empty_figure()
    d = d.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=d["n"], y=d["id"], orientation="h", marker_color=theme.ACCENT,
        customdata=d[["id", "share"]].to_numpy(),
        text=[f"{n:,}（{s:.1%}）" for n, s in zip(d["n"], d["share"], strict=True)], textposition="outside",
        cliponaxis=False,
        hovertemplate="%{customdata[0]}<br>工单量 %{x:,} 件（占 %{customdata[1]:.1%}）<extra></extra>",
    ))
    theme.style(fig, title=title or f"{LEVEL_LABELS[level]}排行", subtitle=subtitle, legend=False,
                height=max(360, 26 * len(d) + 120))
    fig.update_xaxes(title_text="工单量（件）")
    fig.update_yaxes(title_text=None, type="category")
    return fig
