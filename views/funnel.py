"""漏斗 Funnel (`/funnel`): appeal → clue → case → rectification, stage times and deadlines.

Layout only: numbers from analytics.funnel, figures from analytics.figures,
cached at the UI edge by store version and Filters. Which clues a period
selects is defined once in analytics/funnel.py and docs/dashboard.md.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from analytics import figures, funnel, theme
from analytics.filters import Filters
from data import settings
from ui import charts, drill, filters
from ui.db import db_version, require_cursor
from ui.plain import md

cur = require_cursor()
f = filters.current()


@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
def _q(name: str, _cur, version: str, flt: Filters, kw: tuple = ()):
    return getattr(funnel, name)(_cur, flt, **dict(kw))


@st.cache_data(show_spinner=False, ttl=3600, max_entries=8)
def _has_records(_cur, version: str) -> bool:
    return funnel.has_records(_cur)


def q(name: str, **kw):
    return _q(name, cur, db_version(), f, tuple(sorted(kw.items())))


st.title("漏斗")
st.caption(md(f.describe()))
filters.undo_bar()

if not _has_records(cur, db_version()):
    st.info("数据库中有工单，但还没有线索、案件或整改记录，因此无法计算漏斗。"
            "请在“导入”页导入线索（clues）、线索-工单关联（clue_tickets）、案件（cases）和整改（rectifications）台账。")
    st.stop()

stages = q("stages")
n_tickets = int(stages["n"].iloc[0])
if n_tickets == 0:
    st.warning("所选条件下没有工单。请放宽筛选条件或点击侧栏“重置筛选”。")
    st.stop()

cols = st.columns(len(stages))
for col, row in zip(cols, stages.itertuples(), strict=True):
    note = None if pd.isna(row.rate_prev) else f"上一环节转化 {row.rate_prev:.1%}"
    col.metric(row.stage, f"{int(row.n):,}", help=note)
    col.caption(note or "起点：所选工单")
st.caption("口径：所选时段与条件选出工单（按受理时间）；线索为与这些工单关联的线索，案件由这些线索立案，"
           "整改为有整改时间且结果不是“未整改”的案件。点击漏斗的某一环节，查看到达该环节的工单。")

left, right = st.columns(2)
with left:
    ev = charts.chart(figures.funnel_figure(stages, subtitle=f.describe()), key=drill.key("fn_funnel"),
                      title="诉求→线索→立案→整改", select=True)
    stage = drill.value(ev)
    if stage is not None:
        label = funnel.STAGES.get(str(stage), str(stage))
        drill.go(f, f"查看“{label}”环节的工单", open_tickets=True, stage="" if stage == "tickets" else str(stage))
with right:
    by = st.segmented_control("分组", list(funnel.SPLITS), default="district", key="fn_split",
                              format_func=funnel.SPLITS.get) or "district"
    sp = q("split", by=by)
    ev = charts.chart(figures.split_figure(sp, dimension=funnel.SPLITS[by], subtitle=f.describe()),
                      key=drill.key(f"fn_split_{by}"), title=f"按{funnel.SPLITS[by]}分组", select=True)
    drill.on_select(ev, by)

charts.table(theme.labelled(sp, {"key": funnel.SPLITS[by]}), key=f"fn_split_table_{by}",
             title=f"漏斗（按{funnel.SPLITS[by]}）",
             column_config={theme.label("clue_rate"): st.column_config.NumberColumn(format="percent"),
                            theme.label("case_rate"): st.column_config.NumberColumn(format="percent")})

st.subheader("各环节用时")
du = q("durations")
left, right = st.columns([3, 2])
with left:
    charts.chart(figures.durations_figure(du, subtitle=f.describe()), key="fn_durations", title="各环节用时")
with right:
    charts.table(theme.labelled(du, theme.ITEM_COUNT, drop=("key",)), key="fn_durations_table", title="各环节用时",
                 column_config={theme.label(c): st.column_config.NumberColumn(format="%.1f")
                                for c in ("median_days", "p90_days")})

st.subheader("期限与逾期")
as_of = datetime.now().replace(microsecond=0)
dl, od = q("deadline_report", as_of=as_of.replace(second=0, minute=0))
st.caption(f"期限取自设置：线索审查 {settings.get('HOTLINE_CLUE_REVIEW_DAYS')} 天"
           f"（HOTLINE_CLUE_REVIEW_DAYS），检察建议回复 {settings.get('HOTLINE_SUGGESTION_REPLY_DAYS')} 天，"
           f"紧急检察建议回复 {settings.get('HOTLINE_URGENT_REPLY_DAYS')} 天；统计截至 {as_of:%Y-%m-%d %H:00}。"
           "期限按日历日计算，末日为周六、周日的顺延至下周一。按期率 = 按期 ÷（按期 + 超期办结 + 逾期未办），"
           "未到期的不计入。线索含本系统登记的线索；书面告知、回头看期限见“线索台账”。")
charts.table(theme.labelled(dl, drop=("key",)), key="fn_deadlines", title="期限执行情况",
             column_config={theme.label("compliance"): st.column_config.NumberColumn(format="percent")})
if od.empty:
    st.success("所选范围内没有逾期或超期办结的事项。")
else:
    st.markdown(f"**逾期清单**（{len(od):,} 项）")
    charts.table(theme.labelled(od), key="fn_overdue", title="逾期清单",
                 column_config={theme.label("days_over"): st.column_config.NumberColumn(format="%.1f")})
