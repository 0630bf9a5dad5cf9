"""The procuratorate's side: clues screened from tickets, cases, suggestions, replies, rectifications.

Why: the funnel page, deadline tracking and press figures need a funnel calibrated to the seeds: about 1%
of public-interest-related tickets become clues (several times more for the special projects), several
tickets often feed one clue, public-interest clues mostly become cases, about 20% of cases get a
pre-litigation suggestion (reply due in 15 days if urgent, otherwise 60), replies mostly but not always in
time, most cases rectified and some followed up on site, some clues rejected or transferred, and stage
durations with a tail of overdue items. Events after the build's end date do not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .places import Places
from .plan import Plan
from .taxonomy import DEPARTMENT, LEAVES, MINORS_DEPARTMENT, OUTCOMES, TOPIC_FUNCTION

FEED = {"topic": 0.03, "hotspot": 0.25, "pi": 0.006}
CLUE_SIZE = {"topic": 2.5, "hotspot": 6.0, "pi": 2.0}
STATUS_P = {  # (不立案, 移送) by function; the rest are filed (已立案)
    "公益诉讼": (0.07, 0.05), "刑事": (0.22, 0.28), "民事": (0.12, 0.05), "行政": (0.18, 0.15),
}
MEASURES = {
    "公益诉讼": (("诉前检察建议", 0.30), ("诉前磋商", 0.38), ("社会治理检察建议", 0.22), ("移送行政处罚", 0.10)),
    "刑事": (("刑事立案", 0.55), ("移送行政处罚", 0.45)),
    "民事": (("支持起诉", 0.85), ("社会治理检察建议", 0.15)),
    "行政": (("行政检察建议", 0.6), ("移送行政处罚", 0.4)),
}
CASE_TYPE = {"公益诉讼": "行政公益诉讼", "刑事": "刑事立案监督", "民事": "民事支持起诉", "行政": "行政违法行为监督"}
WITH_REPLY = {"诉前检察建议", "社会治理检察建议", "行政检察建议"}
URGENT_P = {"井盖": 0.5, "交通安全": 0.3, "养老消防": 0.3, "消防通道": 0.2}

_PI = np.array([lf.pi for lf in LEAVES])
_TOPIC = np.array([lf.topic or "" for lf in LEAVES], dtype=object)
_L2 = np.array([lf.l2 for lf in LEAVES], dtype=object)


@dataclass
class FunnelState:
    """Running counters across chunks, so clue and case numbers stay unique and deterministic."""
    clue_seq: dict = field(default_factory=dict)
    case_seq: dict = field(default_factory=dict)
    clues: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    rects: list = field(default_factory=list)


def _days(rng, n, median, sigma):
    return rng.lognormal(np.log(median), sigma, n) * 86400


def _office(rng, base: np.ndarray, add_secs: np.ndarray) -> np.ndarray:
    """base + add, moved to an office hour of that day."""
    t = base + add_secs.astype("timedelta64[s]")
    day = t.astype("datetime64[D]").astype("datetime64[s]")
    return day + (rng.integers(8 * 3600 + 1800, 17 * 3600 + 1800, t.size)).astype("timedelta64[s]")


def _ids(state_seq: dict, prefix: str, adcode: np.ndarray, year: np.ndarray) -> np.ndarray:
    out = np.empty(adcode.size, dtype=object)
    for i, (a, y) in enumerate(zip(adcode, year, strict=True)):
        k = (a, y)
        state_seq[k] = state_seq.get(k, 0) + 1
        out[i] = f"{prefix}{a}{y}{state_seq[k]:05d}"
    return out


def funnel_chunk(plan: Plan, places: Places, tickets: dict, chunk: int, state: FunnelState,
                 adcodes: dict) -> None:
    """Screen this chunk's tickets into clues, cases and rectifications (appended to `state`)."""
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 505, chunk]))
    end_ts = np.datetime64(pd.Timestamp(plan.end) + pd.Timedelta(days=1), "s")
    leaf = tickets["leaf"]
    plant = tickets["plant"]
    kinds = np.array([p.kind for p in plan.plants] + [""], dtype=object)
    hot = kinds[plant] == "hotspot"   # plant == -1 picks the trailing ""
    topic = _TOPIC[leaf]
    cls = np.where(hot, "hotspot", np.where(topic != "", "topic", np.where(_PI[leaf], "pi", "")))
    p_feed = pd.Series(cls).map({**FEED, "": 0.0}).to_numpy()
    feed = rng.random(leaf.size) < p_feed
    if not feed.any():
        return
    f = pd.DataFrame({c: tickets[c][feed] for c in
                      ("ticket_id", "received_at", "district", "street", "address", "category_l3")})
    f["topic"] = topic[feed]
    f["cls"] = cls[feed]
    f["plant"] = plant[feed]
    quarter = f["received_at"].dt.to_period("Q").astype(str)
    half = f["received_at"].dt.year.astype(str) + "H" + (1 + (f["received_at"].dt.month > 6)).astype(str)
    year = f["received_at"].dt.year.astype(str)
    l2 = pd.Series(_L2[leaf[feed]], index=f.index)
    # hotspot: one place per quarter; projects: district x project x half-year; other: district x l2 x year
    f["key"] = np.where(f["cls"] == "hotspot", "P" + f["plant"].astype(str) + quarter,
                        np.where(f["cls"] == "topic", f["district"] + f["topic"] + half,
                                 f["district"] + l2 + year))
    f = f.sort_values(["key", "received_at"], kind="stable")
    size = pd.Series(f["cls"].to_numpy()).map(CLUE_SIZE).to_numpy()
    # split each key into clues of a random size around the class mean
    pos = f.groupby("key").cumcount().to_numpy()
    grp_size = np.maximum(1, np.round(rng.gamma(2.0, size / 2.0))).astype(np.int64)
    first = pos == 0
    g = np.cumsum(first) - 1
    per_group = grp_size[first]
    f["clue_no"] = f["key"] + "#" + (pos // per_group[g]).astype(str)

    agg = f.groupby("clue_no", sort=True).agg(
        last=("received_at", "max"), n=("ticket_id", "size"), district=("district", "first"),
        street=("street", "first"), address=("address", "first"), topic=("topic", "first"),
        l3=("category_l3", "first"), cls=("cls", "first"), plant=("plant", "first"),
        ids=("ticket_id", lambda s: ",".join(s)),
    ).reset_index()
    # keep clue order by time for readable ids
    agg = agg.sort_values(["last", "clue_no"], kind="stable").reset_index(drop=True)
    k = len(agg)
    created = _office(rng, agg["last"].to_numpy().astype("datetime64[s]"), _days(rng, k, 9.0, 0.6))
    keep = created < end_ts
    agg, created = agg[keep].reset_index(drop=True), created[keep]
    k = len(agg)
    if k == 0:
        return
    tp = agg["topic"].to_numpy(dtype=object)
    function = np.array([TOPIC_FUNCTION.get(t, "公益诉讼") if t else "公益诉讼" for t in tp], dtype=object)
    department = np.array([MINORS_DEPARTMENT if t == "未成年人保护" else DEPARTMENT[fn]
                           for t, fn in zip(tp, function, strict=True)], dtype=object)
    review = np.where(rng.random(k) < 0.12, _days(rng, k, 16.0, 0.5), _days(rng, k, 4.0, 0.45))
    reviewed = _office(rng, created, review)
    u = rng.random(k)
    p_rej = np.array([STATUS_P[fn][0] for fn in function])
    p_tra = np.array([STATUS_P[fn][1] for fn in function])
    status = np.where(u < p_rej, "不立案", np.where(u < p_rej + p_tra, "移送", "已立案")).astype(object)
    pending = reviewed >= end_ts
    status[pending] = "待审查"
    year = created.astype("datetime64[Y]").astype(int) + 1970
    adc = np.array([adcodes[d] for d in agg["district"]], dtype=object)
    clue_id = _ids(state.clue_seq, "XS", adc, year)
    what = np.where(tp != "", tp, agg["l3"].to_numpy(dtype=object))
    summary = (agg["address"].to_numpy(dtype=object) + what + "问题，关联12345工单"
               + agg["n"].astype(str).to_numpy(dtype=object) + "件")
    clues = pd.DataFrame({
        "clue_id": clue_id, "created_at": created, "district": agg["district"].to_numpy(dtype=object),
        "function": function, "department": department, "topic": np.where(tp != "", tp, None),
        "source": "12345热线", "status": status,
        "reviewed_at": np.where(pending, np.datetime64("NaT"), reviewed),
        "summary": summary, "ticket_ids": agg["ids"].to_numpy(dtype=object),
    })
    state.clues.append(clues)

    # cases from filed clues
    c = np.flatnonzero(status == "已立案")
    if c.size == 0:
        return
    filed = reviewed[c] + rng.integers(3600, 3 * 86400, c.size).astype("timedelta64[s]")
    ok = filed < end_ts
    c, filed = c[ok], filed[ok]
    m = c.size
    fn = function[c]
    tpc = tp[c]
    measure = np.empty(m, dtype=object)
    for name in np.unique(fn):
        mm = np.flatnonzero(fn == name)
        opts = MEASURES[name]
        measure[mm] = np.array([o for o, _ in opts], dtype=object)[
            rng.choice(len(opts), mm.size, p=np.array([w for _, w in opts]))]
    measure_at = _office(rng, filed, _days(rng, m, 12.0, 0.6))
    has_measure = measure_at < end_ts
    suggestion = np.isin(measure, list(WITH_REPLY))
    urgent = suggestion & (rng.random(m) < pd.Series(tpc).map(URGENT_P).fillna(0.05).to_numpy())
    period = np.where(urgent, 15, 60) * 86400
    due = measure_at + period.astype("timedelta64[s]")
    r = rng.random(m)
    reply_secs = np.where(r < 0.84, rng.uniform(0.3, 1.0, m) * period,
                          np.where(r < 0.95, period + _days(rng, m, 12.0, 0.7), np.inf))
    replied = np.where(np.isfinite(reply_secs),
                       measure_at + np.nan_to_num(reply_secs, posinf=0).astype("timedelta64[s]"), np.datetime64("NaT"))
    replied_ok = suggestion & has_measure & np.isfinite(reply_secs) & (replied < end_ts)
    year = filed.astype("datetime64[Y]").astype(int) + 1970
    case_id = _ids(state.case_seq, "AJ", adc[c], year)
    cases = pd.DataFrame({
        "case_id": case_id, "clue_id": clue_id[c], "filed_at": filed,
        "case_type": np.array([CASE_TYPE[x] for x in fn], dtype=object),
        "measure": np.where(has_measure, measure, None),
        "measure_at": np.where(has_measure, measure_at, np.datetime64("NaT")),
        "reply_due_at": np.where(suggestion & has_measure, due, np.datetime64("NaT")),
        "replied_at": np.where(replied_ok, replied, np.datetime64("NaT")),
        "urgent": np.where(urgent, "是", "否"),
    })
    state.cases.append(cases)

    # rectification after the reply (or after the measure when no reply is due)
    base = np.where(suggestion, replied, measure_at + _days(rng, m, 30.0, 0.5).astype("timedelta64[s]"))
    rect_at = _office(rng, base, _days(rng, m, 10.0, 0.7))
    do = has_measure & (~suggestion | replied_ok) & (rng.random(m) < 0.92) & (rect_at < end_ts)
    do &= ~np.isnat(rect_at)
    if not do.any():
        return
    i = np.flatnonzero(do)
    u = rng.random(i.size)
    result = np.where(u < 0.78, "整改到位", np.where(u < 0.92, "部分整改", "未整改")).astype(object)
    fu = _office(rng, rect_at[i], _days(rng, i.size, 50.0, 0.25))
    followed = (rng.random(i.size) < 0.38) & (fu < end_ts)
    outcome, unit, lo, hi = zip(*[OUTCOMES.get(t or None, OUTCOMES[None]) for t in tpc[i]], strict=True)
    lo, hi = np.array(lo, float), np.array(hi, float)
    value = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    value[result == "未整改"] = 0
    state.rects.append(pd.DataFrame({
        "case_id": case_id[i], "rectified_at": rect_at[i], "result": result,
        "followed_up_at": np.where(followed, fu, np.datetime64("NaT")),
        "outcome": np.array(outcome, dtype=object), "outcome_value": value, "outcome_unit": np.array(unit, dtype=object),
    }))
