"""The wall screen's own HTML and CSS (大屏): the stylesheet, the headline table, the lists and the notices.

Layout only. Every number comes in already computed (analytics/screen.py); this module formats it and puts it
in our own elements. The stylesheet is fixed text with the theme's colours and the layout's scale filled in,
sent with `st.html` (no script). It styles only our own classes and the `st-key-scr_*` classes Streamlit
gives keyed containers (documented in `st.container(key=...)`): the screen's root container covers the
browser window (`position: fixed`), so Streamlit's header and sidebar stay underneath without touching them.
"""

from __future__ import annotations

import html
from datetime import date, datetime

import pandas as pd

from analytics import screen, theme

# Design sizes in CSS pixels for a 1920×1080 window; the page multiplies them by the scale.
SIZES = {
    "pad_y": 10, "pad_x": 20, "gap": 10, "head": 58, "panel_pad": 12, "radius": 10,
    "title": 34, "subtitle": 19, "panel_title": 21, "kpi_value": 30, "kpi_label": 20, "kpi_note": 14,
    "list": 20, "small": 15,
}


def _px(v: float, scale: float) -> str:
    return f"{max(1, round(v * scale))}px"


def css(mode: str, scale: float) -> str:
    """The stylesheet of the screen for a theme and a scale (sizes in SIZES × scale)."""
    c = theme.screen_colours(mode)
    s = {k: _px(v, scale) for k, v in SIZES.items()}
    return f"""<style>
.st-key-scr_root {{ position: fixed; inset: 0; z-index: 1000000; overflow: hidden; background: {c['bg']};
  color: {c['text']}; padding: {s['pad_y']} {s['pad_x']}; font-family: {theme.font_family()}; }}
[class*="st-key-scr_panel"] {{ background: {c['panel']}; border: 1px solid {c['border']}; border-radius: {s['radius']};
  padding: {s['panel_pad']} {s['panel_pad']}; overflow: hidden; }}
.scr-head {{ display: flex; align-items: center; gap: {_px(24, scale)}; height: {s['head']}; white-space: nowrap; }}
.scr-title {{ font-size: {s['title']}; font-weight: 700; color: {c['title']}; letter-spacing: 0.06em; }}
.scr-title b {{ color: {c['primary']}; }}
.scr-scope {{ font-size: {s['subtitle']}; color: {c['text']}; border: 1px solid {c['border']};
  border-radius: {_px(6, scale)}; padding: {_px(2, scale)} {_px(10, scale)}; }}
.scr-fresh {{ margin-left: auto; font-size: {s['subtitle']}; color: {c['muted']}; text-align: right; }}
.scr-fresh b {{ color: {c['text']}; font-weight: 600; }}
.scr-notice {{ font-size: {s['small']}; color: {c['hot']}; }}
.scr-ptitle {{ font-size: {s['panel_title']}; font-weight: 700; color: {c['title']}; margin: 0 0 {_px(6, scale)} 0;
  display: flex; align-items: baseline; gap: {_px(10, scale)}; white-space: nowrap; overflow: hidden; }}
.scr-ptitle::before {{ content: ""; display: inline-block; width: {_px(5, scale)}; height: {_px(18, scale)};
  background: {c['primary']}; border-radius: {_px(2, scale)}; align-self: center; }}
.scr-ptitle span {{ font-size: {s['small']}; font-weight: 400; color: {c['muted']}; }}
.scr-kpi {{ width: 100%; border-collapse: collapse; table-layout: fixed; }}
.scr-kpi th {{ font-size: {s['kpi_note']}; color: {c['muted']}; font-weight: 400; text-align: right;
  padding: 0 {_px(6, scale)} {_px(4, scale)}; }}
.scr-kpi th b {{ display: block; font-size: {s['kpi_label']}; color: {c['text']}; font-weight: 700; }}
.scr-kpi td {{ text-align: right; padding: {_px(2, scale)} {_px(6, scale)}; border-top: 1px solid {c['grid']};
  line-height: 1.15; vertical-align: middle; }}
.scr-kpi th.lab {{ text-align: left; vertical-align: bottom; white-space: nowrap; }}
.scr-kpi td.lab {{ text-align: left; font-size: {s['kpi_label']}; color: {c['text']}; width: 22%; }}
.scr-kpi .v {{ font-size: {s['kpi_value']}; font-weight: 700; color: {c['title']}; font-variant-numeric: tabular-nums; }}
.scr-kpi .d {{ font-size: {s['kpi_note']}; color: {c['muted']}; white-space: nowrap; }}
.scr-up {{ color: {c['up']} !important; }}
.scr-down {{ color: {c['down']} !important; }}
.scr-foot {{ font-size: {s['small']}; color: {c['muted']}; margin-top: {_px(6, scale)}; line-height: 1.35; }}
.scr-row {{ display: flex; align-items: center; gap: {_px(10, scale)}; font-size: {s['list']};
  height: {_px(31, scale)}; white-space: nowrap; }}
.scr-row .name {{ width: 26%; overflow: hidden; text-overflow: ellipsis; }}
.scr-row.on .name {{ color: {c['hot']}; font-weight: 700; }}
.scr-row .bar {{ flex: 1; height: {_px(12, scale)}; background: {c['grid']}; border-radius: {_px(6, scale)}; }}
.scr-row .bar i {{ display: block; height: 100%; background: {c['bar']}; border-radius: {_px(6, scale)}; }}
.scr-row.on .bar i {{ background: {c['hot']}; }}
.scr-row .n {{ width: 17%; text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }}
.scr-row .chg {{ width: 17%; text-align: right; font-size: {s['kpi_note']}; color: {c['muted']}; }}
.scr-row .star {{ width: {_px(22, scale)}; color: {c['hot']}; }}
.scr-focus {{ display: flex; align-items: center; gap: {_px(18, scale)}; white-space: nowrap; }}
.scr-focus .name {{ font-size: {_px(30, scale)}; font-weight: 700; color: {c['hot']}; }}
.scr-focus .step {{ font-size: {s['small']}; color: {c['muted']}; }}
.scr-focus .fig {{ font-size: {s['kpi_note']}; color: {c['muted']}; }}
.scr-focus .fig b {{ display: block; font-size: {_px(27, scale)}; color: {c['title']}; font-variant-numeric: tabular-nums; }}
.scr-dots {{ display: flex; gap: {_px(6, scale)}; margin-left: auto; }}
.scr-dots i {{ width: {_px(11, scale)}; height: {_px(11, scale)}; border-radius: 50%; background: {c['grid']}; }}
.scr-dots i.on {{ background: {c['hot']}; }}
.scr-work {{ display: flex; gap: {_px(12, scale)}; }}
.scr-work > div {{ flex: 1; font-size: {s['kpi_note']}; color: {c['muted']}; line-height: 1.3; }}
.scr-work b {{ display: block; font-size: {_px(30, scale)}; color: {c['title']}; font-variant-numeric: tabular-nums; }}
.scr-work .na {{ font-size: {s['small']}; color: {c['muted']}; font-weight: 400; }}
.scr-results {{ margin-top: {_px(6, scale)}; }}
.scr-results .t {{ font-size: {s['kpi_note']}; color: {c['muted']}; }}
.scr-results .t span {{ margin-left: {_px(6, scale)}; }}
.scr-results .r {{ display: flex; align-items: baseline; gap: {_px(10, scale)}; font-size: {s['list']};
  height: {_px(28, scale)}; white-space: nowrap; color: {c['text']}; }}
.scr-results .r .name {{ flex: 1; overflow: hidden; text-overflow: ellipsis; }}
.scr-results .r b {{ color: {c['title']}; font-variant-numeric: tabular-nums; }}
.scr-results .r .c {{ width: 18%; text-align: right; font-size: {s['kpi_note']}; color: {c['muted']}; }}
[class*="st-key-scr_bufs_"] {{ display: grid; grid-template-columns: minmax(0, 1fr); }}
[class*="st-key-scr_bufs_"] > * {{ grid-area: 1 / 1; min-width: 0; }}
.scr-wait {{ height: 90vh; display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: {_px(16, scale)}; font-size: {_px(28, scale)}; color: {c['muted']}; }}
</style>"""


def slots_css(shown: int) -> str:
    """Which of the two chart slots is on show (views/screen.py `Slot`): both lie in the same grid cell of
    their chart's panel, the other one hidden (`visibility`, so the browser still lays it out at its size and
    plotly draws it while nobody sees it). Sent with the title bar in one element, so flipping it is one
    change of the page."""
    other = 1 - shown
    return (f'<style>[class*="st-key-scr_s{other}_"] {{ visibility: hidden; }} '
            f'[class*="st-key-scr_s{shown}_"] {{ visibility: visible; }}</style>')


def esc(v) -> str:
    return html.escape("" if v is None else str(v))


def fmt_count(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{int(v):,}"


def fmt_rate(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.1%}"


def _change(kind: str, key: str, change, partial: bool) -> str:
    """The year-on-year line under a headline figure, coloured by what a rise means."""
    if change is None or pd.isna(change):
        return '<div class="d">同比 —</div>'
    good_when_up = key not in ("tickets",)
    cls = ""
    if change > 0:
        cls = "scr-down" if good_when_up else "scr-up"
    elif change < 0:
        cls = "scr-up" if good_when_up else "scr-down"
    # no "同比" before a number: the column heads say these are changes against the same dates last year
    text = f"{change * 100:+.1f}个百分点" if kind == "rate" else f"{change:+.1%}"
    return f'<div class="d {cls}">{text}{"※" if partial else ""}</div>'


def head(scope: str, as_of: date | None, imported: datetime | None, refreshed: datetime, notice: str | None,
         projects: str = "") -> str:
    """The title bar: name, scope, the data's last day, when it was imported and when the screen refreshed."""
    fresh = [f"数据截至 <b>{as_of:%Y-%m-%d}</b>" if as_of else "暂无数据"]
    if imported is not None:
        fresh.append(f"更新于 <b>{imported:%m-%d %H:%M}</b>")
    fresh.append(f"刷新于 <b>{refreshed:%H:%M:%S}</b>")
    note = f'<div class="scr-notice">{esc(notice)}</div>' if notice else ""
    return (f'<div class="scr-head"><div class="scr-title"><b>12345</b> 热线检察监督态势</div>'
            f'<div class="scr-scope">{esc(scope)}</div>{esc(projects)}'
            f'<div class="scr-fresh">{" · ".join(fresh)}{note}</div></div>')


def panel_title(text: str, note: str = "") -> str:
    return f'<div class="scr-ptitle">{esc(text)}<span>{esc(note)}</span></div>'


def headline_table(df: pd.DataFrame, as_of: date, first_day: date | None, funnel_open: bool) -> str:
    """The headline figures (`screen.headline`): one row per figure, one column per period, each with its
    change against the same dates last year. Every value cell carries `data-kpi="<period>-<key>"`."""
    periods = screen.period_filters(as_of)
    heads = {"day": f"{as_of.month}月{as_of.day}日", "month": f"{as_of.month}月1日起", "year": f"{as_of.year}年1月1日起"}
    rows = ['<tr><th class="lab">较去年同期</th>'
            + "".join(f"<th><b>{screen.PERIODS[p]}</b>{heads[p]}</th>" for p in periods) + "</tr>"]
    partial_seen = False
    for key in screen.HEADLINE:
        cells = [f'<td class="lab">{esc(screen.HEADLINE_LABELS[key])}</td>']
        for p in periods:
            hit = df[(df["period"] == p) & (df["key"] == key)]
            if hit.empty:
                cells.append('<td><div class="v">—</div></td>')
                continue
            r = hit.iloc[0]
            if isinstance(r.get("missing"), str):
                cells.append(f'<td><div class="v" data-kpi="{p}-{key}">—</div><div class="d">无此数据</div></td>')
                continue
            shown = fmt_rate(r["value"]) if r["kind"] == "rate" else fmt_count(r["value"])
            partial = bool(r["last_year_partial"]) and not pd.isna(r["change"])
            partial_seen |= partial
            cells.append(f'<td><div class="v" data-kpi="{p}-{key}">{shown}</div>'
                         f'{_change(r["kind"], key, r["change"], partial)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    foot = []
    by_note: dict[str, list[str]] = {}
    for key in screen.HEADLINE:
        for p in periods:
            hit = df[(df["period"] == p) & (df["key"] == key)]
            note = hit.iloc[0].get("missing") if len(hit) else None
            if isinstance(note, str) and screen.HEADLINE_LABELS[key] not in by_note.setdefault(note, []):
                by_note[note].append(screen.HEADLINE_LABELS[key])
    for note, labels in by_note.items():
        foot.append(esc(f"{'、'.join(labels)}：{note}。"))
    if partial_seen and first_day:
        foot.append(f"※ 去年同期只部分有数据（数据自 {first_day:%Y-%m-%d} 起）。")
    if funnel_open:
        foot.append("线索、立案、整改随办理进度陆续产生，近期数值偏低。")
    return f'<table class="scr-kpi">{"".join(rows)}</table><div class="scr-foot">{"".join(foot)}</div>'


def projects_list(df: pd.DataFrame, current: str | None, limit: int) -> str:
    """The month's special projects (`screen.projects`): bar, tickets and change against last year."""
    if df.empty:
        return '<div class="scr-foot">本月暂无专项工单。</div>'
    rows = []
    for r in df.head(limit).itertuples():
        chg = "同比 —" if pd.isna(r.change) else f"同比 {r.change:+.0%}"
        cls = "scr-up" if (not pd.isna(r.change) and r.change > 0) else ("scr-down" if not pd.isna(r.change) else "")
        on = " on" if r.topic == current else ""
        rows.append(f'<div class="scr-row{on}" data-project="{esc(r.topic)}"><span class="name">{esc(r.topic)}</span>'
                    f'<span class="bar"><i style="width:{max(2.0, float(r.bar) * 100):.0f}%"></i></span>'
                    f'<span class="n">{int(r.n):,}</span><span class="chg {cls}">{chg}</span></div>')
    return "".join(rows)


def risers_list(df: pd.DataFrame) -> str:
    """The month's fastest-rising words (`screen.risers`), significant ones starred."""
    msg = df.attrs.get("message")
    if msg:
        return f'<div class="scr-foot">{esc(msg)}</div>'
    if df.empty:
        return '<div class="scr-foot">本月无可比较的词语。</div>'
    top = max(float(df["ratio"].replace([float("inf")], pd.NA).dropna().max() or 1), 1.0) if len(df) else 1.0
    rows = []
    for r in df.itertuples():
        ratio = "新出现" if r.new else f"×{r.ratio:.1f}"
        width = 100 if r.new else min(100.0, float(r.ratio) / top * 100)
        rows.append(f'<div class="scr-row"><span class="star">{"★" if r.significant else ""}</span>'
                    f'<span class="name">{esc(r.key)}</span><span class="bar"><i style="width:{width:.0f}%"></i></span>'
                    f'<span class="n">{int(r.x):,}</span><span class="chg">{ratio}</span></div>')
    w = df.attrs.get("windows")
    base = w.describe() if w is not None and hasattr(w, "describe") else ""
    n_sig = int(df.attrs.get("significant", 0))
    return "".join(rows) + (f'<div class="scr-foot">★ 显著上升（FDR q&lt;0.05），本月共 {n_sig} 个；件数为本月涉及工单，'
                            f'倍数为占比之比。{esc(base)}</div>')


def focus_head(label: str, step: int, steps: int, kpis: pd.DataFrame) -> str:
    """The rotating frame's name, its place in the rotation and the month's figures of it."""
    figs = []
    k = kpis.set_index("key") if len(kpis) else None
    for key in ("tickets", "clues", "cases", "rectified"):
        if k is None or key not in k.index:
            continue
        r = k.loc[key]
        chg = "同比 —" if pd.isna(r["yoy_pct"]) else f"同比 {r['yoy_pct']:+.0%}"
        figs.append(f'<div class="fig" data-focus="{key}"><b>{fmt_count(r["value"])}</b>'
                    f'{esc(FOCUS_LABELS[key])} {chg}</div>')
    dots = "".join(f'<i class="{"on" if i == step else ""}"></i>' for i in range(steps)) if steps > 1 else ""
    where = f"轮播 {step + 1} / {steps}" if steps > 1 else "本月"
    return (f'<div class="scr-focus"><div><div class="step">{where}</div>'
            f'<div class="name" data-focus-name="{esc(label)}">{esc(label)}</div></div>{"".join(figs)}'
            f'<div class="scr-dots">{dots}</div></div>')


FOCUS_LABELS = {"tickets": "本月工单", "clues": "线索", "cases": "立案", "rectified": "整改"}


def work_panel(queue, ledger, month: str, results_shown: int = 3) -> str:
    """Hits waiting (screening queue), overdue clues and the month's rectification results (clue ledger).

    `queue` is {"waiting", "oldest_days", "rules"} (`data.screening.queue.queue_summary` and the active rules),
    `ledger` is `screen.ledger_figures` ({"overdue", "due_soon", "results", ...}). Either is None where it
    cannot be read or the scope has no clue at all: the panel says the figure is not available, never 0.
    """
    def na(why: str) -> str:
        return f'<b class="na">暂不可用</b>{esc(why)}'

    if queue is None:
        q = na("筛查队列暂时无法读取")
    elif not queue["rules"]:
        q = na("尚未启用筛查规则")
    else:
        days = queue["oldest_days"]
        oldest = f"，最久 {days} 天" if days is not None and queue["waiting"] else ""
        q = f'<b data-work="waiting">{queue["waiting"]:,}</b>筛查命中待研判{oldest}'
    if ledger is None:
        o = na("尚无线索台账")
        res = f'<div class="scr-results">{esc(month)}整改成效：暂不可用（尚无线索台账）</div>'
    else:
        soon = int(ledger["due_soon"])
        o = (f'<b data-work="overdue" class="{"scr-up" if ledger["overdue"] else ""}">{int(ledger["overdue"]):,}</b>'
             f'线索已逾期，即将到期 {soon:,}')
        res = results_list(ledger.get("results"), month, results_shown)
    return f'<div class="scr-work"><div>{q}</div><div>{o}</div></div>{res}'


def fmt_amount(value, unit: str) -> str:
    """"3,400 吨", "12.5 万元" (yuan from 10,000 up in 万元), "—" when unknown."""
    if value is None or pd.isna(value):
        return "—"
    v = float(value)
    if unit == "元" and abs(v) >= 10_000:
        return f"{v / 10_000:,.1f} 万元"
    num = f"{v:,.0f}" if v.is_integer() else f"{v:,.1f}"
    return f"{num} {unit}".strip()


def results_list(results, month: str, limit: int) -> str:
    """The month's rectification results (`analytics.ledger.rectification_results`: item, unit, cases,
    value), the largest `limit` by cases: "更换、加固井盖 120 个 · 8 案"; says when it shows fewer."""
    title = f"{esc(month)}整改成效"
    if results is None or len(results) == 0:
        return f'<div class="scr-results"><div class="t">{title}</div><div class="scr-foot">本月暂无登记的整改成效</div></div>'
    shown = results.head(limit)
    cut = f"（显示 {len(shown)} / {len(results)} 项）" if len(results) > len(shown) else ""
    rows = "".join(f'<div class="r" data-result="{esc(r["item"])}"><span class="name">{esc(r["item"])}</span>'
                   f'<b>{esc(fmt_amount(r["value"], str(r["unit"] or "")))}</b>'
                   f'<span class="c">{int(r["cases"]):,} 案</span></div>'
                   for r in shown.to_dict("records"))
    return f'<div class="scr-results"><div class="t">{title}<span>{cut}</span></div>{rows}</div>'


def waiting(message: str) -> str:
    """The whole screen while there is nothing to show yet (no store, no data): a quiet message."""
    return f'<div class="scr-wait"><div>12345 热线检察监督态势</div><div>{esc(message)}</div></div>'
