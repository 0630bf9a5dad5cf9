"""The shared sidebar filters, kept in the URL query string.

Rendered once per run by app.py (so widget state survives page switches) and
read by pages through `current()`. Drill-down clicks call `apply()`, which
sets the widgets before they are drawn on the next run and records the
change so the user can undo it.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import privacy
from analytics.filters import _QUERY_KEYS as FILTER_QUERY_KEYS
from analytics.filters import APPEAL_TYPES, FUNCTIONS, NO_TOPIC, Filters
from analytics.options import FilterOptions, describe_unknown, filter_options, known_values, unknown_values
from ui.db import db_version
from ui.plain import md

_STATE = "flt_value"
_OPTS = "flt_options"
_PENDING = "flt_pending"
_HISTORY = "flt_history"
_NOTES = "flt_notes"        # what was not taken as written from the link's dates (shown on the first run)
_REFUSED = "flt_refused"    # the last keyword search refused (recorded once, not on every rerun)
UNKNOWN_MARK = "（数据中不存在）"
PENDING_KEY, HISTORY_KEY = _PENDING, _HISTORY
# Generation of selectable widgets: renewed on every applied click or undo so that a
# chart's lingering selection does not fire again (see ui/drill.py).
GEN_KEY = "drill_gen"
K = {name: f"flt_{name}" for name in (
    "dates", "districts", "streets", "categories", "topics", "channels", "appeal_types", "functions", "text",
    "extras")}


@st.cache_data(show_spinner=False, ttl=600)
def options(_cur, version: str) -> FilterOptions:
    return filter_options(_cur)


def default_filters(opts: FilterOptions) -> Filters:
    """The default period (analytics/periods.py: the last complete month the data covers, else 30 days)."""
    p = opts.default_period
    if not opts.has_data or p is None:
        return Filters()
    return Filters(date_from=p.date_from, date_to=p.date_to)


def default_note() -> str | None:
    """Why the pages opened on this period, while the selection is still the default one; else None."""
    opts = st.session_state.get(_OPTS)
    f = st.session_state.get(_STATE)
    if opts is None or f is None or opts.default_period is None:
        return None
    p = opts.default_period
    if (f.date_from, f.date_to) != (p.date_from, p.date_to):
        return None
    return p.reason


def _to_state(f: Filters) -> None:
    st.session_state[K["dates"]] = tuple(d for d in (f.date_from, f.date_to) if d)
    for name in ("districts", "streets", "categories", "topics", "channels", "appeal_types", "functions"):
        st.session_state[K[name]] = list(getattr(f, name))
    st.session_state[K["text"]] = f.text
    # one multiselect per extra column (key flt_extras_<n>): kept as the items "header=value"
    st.session_state[K["extras"]] = list(f.extras)
    for key in [k for k in st.session_state if str(k).startswith(K["extras"] + "_")]:
        del st.session_state[key]   # redrawn from K["extras"] (their `default`) on this run


def _from_state(opts: FilterOptions) -> Filters:
    dates = st.session_state.get(K["dates"]) or ()
    if isinstance(dates, date):   # a client that sent no widget state leaves the widget's single value
        dates = (dates,)
    d_from = dates[0] if len(dates) >= 1 else None
    d_to = dates[1] if len(dates) >= 2 else d_from
    return Filters(
        date_from=d_from, date_to=d_to,
        **{name: tuple(st.session_state.get(K[name]) or ()) for name in
           ("districts", "streets", "categories", "topics", "channels", "appeal_types", "functions")},
        text=st.session_state.get(K["text"]) or "",
        extras=tuple(st.session_state.get(K["extras"]) or ()),
    )


def sidebar(cur) -> Filters:
    """Draw the filters in the sidebar and return the selection."""
    opts = options(cur, db_version())
    st.session_state[_OPTS] = opts
    if _STATE not in st.session_state:
        f, notes = Filters.from_query_checked(st.query_params.to_dict())
        if f.date_from is None and f.date_to is None:
            d = default_filters(opts)
            f = f.replace(date_from=d.date_from, date_to=d.date_to)
        elif opts.has_data:
            f, more = _within_data(f, opts)
            if more:   # says it all: the notes on dates beyond DATE_MIN/DATE_MAX would only repeat it
                notes = [n for n in notes if "超出可查询的范围" not in n] + more
        f, more = _within_scope(f, opts)
        notes += more
        st.session_state[_NOTES] = notes
        _to_state(f)
    elif K["dates"] not in st.session_state:
        # A page drawn without the sidebar (import, users, a page the role may not open) let Streamlit drop
        # the widgets' state: draw them again with the selection kept from before.
        _to_state(st.session_state[_STATE])
    pending = st.session_state.pop(_PENDING, None)
    if pending is not None:
        _to_state(pending)
    # Values the store does not hold (a shared link's unknown district ...) stay selected and offered, marked:
    # they match nothing, so the page shows nothing for them and says why (not the whole city).
    unknown = unknown_values(_selected(), opts)

    def offered(name: str, values) -> list[str]:
        return [*values, *(v for v in unknown.get(name, ()) if v not in values)]

    def mark(v: str) -> str:
        return f"{v}{UNKNOWN_MARK}" if any(v in vals for vals in unknown.values()) else v

    with st.sidebar:
        st.markdown("### 筛选条件")
        if opts.region:
            st.caption(f"区域：{opts.region}")
        if opts.region_note:
            st.warning(opts.region_note)
        chosen_dates = [d for d in (st.session_state.get(K["dates"]) or ()) if d]
        lo = min([opts.min_date or date(2020, 1, 1), *chosen_dates])
        hi = max([opts.max_date or date.today(), *chosen_dates])
        st.date_input("日期范围", key=K["dates"], min_value=lo, max_value=hi, format="YYYY-MM-DD")
        st.multiselect("区", offered("districts", opts.districts), key=K["districts"], placeholder="全部区",
                       format_func=mark)
        chosen = set(st.session_state.get(K["districts"]) or ())
        street_names = offered("streets", list(dict.fromkeys(s for d, s in opts.streets if not chosen or d in chosen)))
        _keep_known(K["streets"], street_names)
        if opts.streets:   # a region pack without streets has none to offer
            st.multiselect("街道/乡镇", street_names, key=K["streets"], placeholder="全部街乡", format_func=mark)
        paths = offered("categories", opts.category_paths())
        _keep_known(K["categories"], paths)
        st.multiselect("问题分类（任一级）", paths, key=K["categories"], placeholder="全部分类", format_func=mark)
        topics = offered("topics", [*opts.topics, NO_TOPIC])
        _keep_known(K["topics"], topics)
        st.multiselect("专项", topics, key=K["topics"], placeholder="全部专项", format_func=mark)
        with st.expander("更多条件", expanded=bool(unknown.keys() & {"channels", "appeal_types", "functions"})):
            channels = offered("channels", list(opts.channels))
            _keep_known(K["channels"], channels)
            st.multiselect("渠道", channels, key=K["channels"], placeholder="全部渠道", format_func=mark)
            types = offered("appeal_types", list(dict.fromkeys([*APPEAL_TYPES, *opts.appeal_types])))
            _keep_known(K["appeal_types"], types)
            st.multiselect("诉求类型", types, key=K["appeal_types"], placeholder="全部类型", format_func=mark)
            st.multiselect("检察职能", offered("functions", list(FUNCTIONS)), key=K["functions"],
                           placeholder="全部职能", format_func=mark)
            _extra_filters(opts)
        st.text_input("关键词（诉求内容）", key=K["text"], placeholder="如：井盖 破损")
        if st.button("重置筛选", width="stretch"):
            apply(default_filters(opts), record=False)

    try:
        f = _from_state(opts)
    except ValueError as exc:
        st.sidebar.error(md(exc))
        f = default_filters(opts)
    st.session_state[_STATE] = f
    # Keep page parameters (?id=T01, ?screen=1) next to the filters in the URL.
    extras = {k: st.query_params.get(k) for k in st.query_params if k not in FILTER_QUERY_KEYS}
    wanted = {**extras, **f.to_query()}
    if wanted != st.query_params.to_dict():
        st.query_params.from_dict(wanted)
    _notices(f, opts)
    return f


def _within_data(f: Filters, opts: FilterOptions) -> tuple[Filters, list[str]]:
    """A link's dates moved inside the data's first and last day (no ticket lies outside), with a note."""
    lo, hi = opts.min_date, opts.max_date
    d_from = max(f.date_from, lo) if f.date_from else None
    d_to = min(f.date_to, hi) if f.date_to else None
    if d_from and d_to and d_from > d_to:   # the whole range lies outside the data: keep it (shows nothing)
        return f, []
    if (d_from, d_to) == (f.date_from, f.date_to):
        return f, []
    note = f"链接中的日期超出数据覆盖的范围（{lo} 至 {hi}），按 {d_from or '…'} 至 {d_to or '…'} 显示"
    return f.replace(date_from=d_from, date_to=d_to), [note]


def _within_scope(f: Filters, opts: FilterOptions) -> tuple[Filters, list[str]]:
    """For a user limited to some districts, a link's districts and streets outside them are left out (a link
    cannot widen the scope, and the page does not repeat names from outside it), with a note."""
    from ui import auth

    who = auth.principal()
    if who is None or who.scope.districts is None:
        return f, []
    known = known_values(opts)   # read through the user's scoped cursor: their districts and streets only
    districts = tuple(v for v in f.districts if v in known["districts"])
    streets = tuple(v for v in f.streets if v in known["streets"])
    gone = len(f.districts) - len(districts) + len(f.streets) - len(streets)
    if not gone:
        return f, []
    return f.replace(districts=districts, streets=streets), [
        f"链接中有 {gone} 个区或街道/乡镇不在您的辖区内（或数据中没有），已略去，按您的辖区显示"]


def _selected() -> Filters:
    """The list values now selected in the widgets' state (dates left out), for checking them."""
    return Filters(**{name: tuple(st.session_state.get(K[name]) or ()) for name in
                      ("districts", "streets", "categories", "topics", "channels", "appeal_types", "functions")})


def _notices(f: Filters, opts: FilterOptions) -> None:
    """Say what of the selection could not be taken as asked; refuse a search for personal numbers."""
    notes = st.session_state.pop(_NOTES, None)
    if notes:
        st.info(md("；".join(notes) + "。"))
    unknown = unknown_values(f, opts)
    if unknown:
        st.warning(f"筛选条件中有数据里不存在的值（{md(describe_unknown(unknown))}），它们不匹配任何工单，"
                   "因此下面不显示数据。请在侧栏中移除标有“数据中不存在”的值。")
    if f.text and privacy.personal_number_search(f.text):
        if st.session_state.get(_REFUSED) != f.text:
            st.session_state[_REFUSED] = f.text
            record_refused_search(f.text)
        st.error("为保护个人信息，不能按电话号码、身份证号或其中的一段数字检索（关键词中的数字合计不能超过 "
                 f"{privacy.SEARCH_DIGITS_MAX} 位）。此次检索已被拒绝并记录。请改用其他关键词。")
        st.stop()


def record_refused_search(text: str) -> None:
    """Record a refused personal-number search in the audit trail (who, when; the search with its digits as "*":
    the digits are personal data themselves)."""
    from data import audit
    from ui import auth

    masked = "".join("*" if c.isdigit() else c for c in text)
    who = auth.principal()
    audit.record(who if who is not None else audit.Actor("unknown"), "search_refused", "keyword",
                 {"text": masked, "digits": sum(c.isdigit() for c in text)})


def _extra_filters(opts: FilterOptions) -> None:
    """A multiselect per few-valued extra column of the export; their choices are kept as "header=value"."""
    chosen = list(st.session_state.get(K["extras"]) or ())
    known = {f"{k}={v}" for k, vs in opts.extras for v in vs}
    kept = [c for c in chosen if c in known]
    for i, (header, values) in enumerate(opts.extras):
        mine = [c.partition("=")[2] for c in kept if c.partition("=")[0] == header]
        picked = st.multiselect(header, list(values), default=mine, key=f"{K['extras']}_{i}_{header}",
                                placeholder=f"全部（{header}）")
        kept = [c for c in kept if c.partition("=")[0] != header] + [f"{header}={v}" for v in picked]
    st.session_state[K["extras"]] = kept


def _keep_known(key: str, allowed: list[str]) -> None:
    """Drop selected values that are no longer offered (a multiselect would raise)."""
    cur = st.session_state.get(key)
    if cur:
        allowed_set = set(allowed)
        kept = [v for v in cur if v in allowed_set]
        if len(kept) != len(cur):
            st.session_state[key] = kept


def current() -> Filters:
    """The selection drawn by `sidebar()` in this run."""
    return st.session_state.get(_STATE) or Filters()


def apply(f: Filters, *, label: str | None = None, record: bool = True) -> None:
    """Replace the filters (e.g. after a click) and rerun; `label` says what the click applied."""
    if record:
        hist = st.session_state.setdefault(_HISTORY, [])
        hist.append((label or "筛选变更", current()))
    st.session_state[_PENDING] = f
    bump_generation()
    st.rerun()


def bump_generation() -> None:
    """Renew the keys of selectable charts and tables (their old selections are dropped)."""
    st.session_state[GEN_KEY] = st.session_state.get(GEN_KEY, 0) + 1


def undo_bar() -> None:
    """Show what the last click applied, with a button to undo it."""
    hist = st.session_state.get(_HISTORY) or []
    if not hist:
        return
    label, previous = hist[-1]
    c1, c2 = st.columns([5, 1])
    c1.info(f"已应用：{md(label)}")
    if c2.button("撤销", key=f"undo_{len(hist)}"):
        hist.pop()
        st.session_state[_PENDING] = previous
        bump_generation()
        st.rerun()
