"""One chunk of tickets: places, times, texts, people and the hotline's own handling, vectorised.

Why per chunk: a chunk is a range of days from the plan, so 25 M tickets are generated (and imported) in
bounded memory; within a chunk everything is numpy over whole columns, with Python loops only over
categories, templates and streets, never over tickets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import people, texts, timeline
from .places import DETAILS, PLACE_KINDS, Places, pick_place, place_points
from .plan import Plan
from .taxonomy import APPEAL_TYPES, CHANNEL_WEIGHTS, CHANNELS, LEAVES, UNITS

NO_COORDS = {"电话": 0.045, "网络": 0.015, "微信": 0.01, "App": 0.01, "领导信箱": 0.03}
GCJ_SHARE = {"电话": 0.12, "网络": 0.30, "微信": 0.55, "App": 0.60, "领导信箱": 0.10}
PASSING_SHARE = 0.05
PHONE_IN_TEXT = 0.03
ID_IN_TEXT = 0.008

_NO_COORDS = np.array([NO_COORDS[c] for c in CHANNELS])
_GCJ = np.array([GCJ_SHARE[c] for c in CHANNELS])
_L1 = np.array([lf.l1 for lf in LEAVES], dtype=object)
_L2 = np.array([lf.l2 for lf in LEAVES], dtype=object)
_L3 = np.array([lf.l3 for lf in LEAVES], dtype=object)
_LEAF_TOPIC = np.array([lf.topic or "" for lf in LEAVES], dtype=object)
_LEAF_PLACE = np.array([lf.place for lf in LEAVES], dtype=object)
_APPEAL_P = np.array([lf.appeal for lf in LEAVES])


def _logit(p):
    return np.log(p / (1 - p))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class HandlingModel:
    """District and category effects on the three rates (三率), fixed per seed."""

    def __init__(self, seed: int, districts: np.ndarray):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 303]))
        self.districts = np.unique(districts)
        self.d_eff = dict(zip(self.districts, rng.normal(0, 0.45, self.districts.size), strict=True))
        self.l_eff = rng.normal(0, 0.45, len(LEAVES))
        self.unit_pick = rng.random(len(LEAVES)) < 0.5

    def effects(self, district: np.ndarray, leaf: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(self.districts, district)
        d = np.array([self.d_eff[x] for x in self.districts])[codes]
        return d + self.l_eff[leaf]


def _expand(opt: str) -> list[str]:
    if "{n}" not in opt:
        return [opt]
    return [opt.replace("{n}", str(n)).replace("{u}", str(1 + n % 5)) for n in range(1, 30)]


_DETAIL_OPTS = {k: np.array([x for o in v for x in _expand(o)], dtype=object) for k, v in DETAILS.items()}


def _details(rng, kind: np.ndarray) -> np.ndarray:
    out = np.empty(kind.size, dtype=object)
    for k in np.unique(kind):
        m = np.flatnonzero(kind == k)
        opts = _DETAIL_OPTS[k]
        out[m] = opts[rng.integers(0, opts.size, m.size)]
    return out


def generate_chunk(plan: Plan, places: Places, handling: HandlingModel, chunk: int) -> dict[str, np.ndarray]:
    """The tickets of chunk `chunk` of the plan as columns sorted by time, with internal English names.

    Extra internal columns (not written to the export files): leaf, plant (-1 if none), feed (bool: this
    ticket feeds a clue), topic (the project the leaf belongs to; the import derives its own).
    """
    d0, d1 = plan.chunks[chunk]
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 404, chunk]))
    block = plan.counts[:, d0:d1]
    g_idx, d_idx = np.nonzero(block)
    reps = block[g_idx, d_idx]
    group = np.repeat(g_idx, reps)
    day = np.repeat(d_idx + d0, reps)
    n = group.size
    is_plant = group >= plan.n_leaf
    plant = np.where(is_plant, group - plan.n_leaf, -1)

    # category
    leaf = np.where(is_plant, 0, group).astype(np.int64)
    for p in np.unique(plant[is_plant]):
        m = np.flatnonzero(plant == p)
        choices = np.array(plan.plants[p].leaves)
        leaf[m] = choices[rng.integers(0, choices.size, m.size)]

    # time
    days = plan.days[day]
    weekend = days.day_of_week.to_numpy() >= 5
    secs = timeline.times_of_day(rng, weekend)
    received = days.to_numpy().astype("datetime64[s]") + secs.astype("timedelta64[s]")

    # channel
    ch = rng.choice(len(CHANNELS), size=n, p=np.array(CHANNEL_WEIGHTS) / sum(CHANNEL_WEIGHTS))
    channel = np.array(CHANNELS, dtype=object)[ch]

    # place: street, named place, point
    street = np.empty(n, dtype=np.int64)
    place = np.empty(n, dtype=np.int64)
    sigma = np.empty(n)
    for li in np.unique(leaf[~is_plant]):
        m = np.flatnonzero((leaf == li) & ~is_plant)
        w = places.weights[LEAVES[li].area]
        street[m] = rng.choice(w.size, size=m.size, p=w)
        kind = _LEAF_PLACE[li]
        place[m] = pick_place(rng, places, street[m], kind)
        sigma[m] = PLACE_KINDS[kind][1]
    along = rng.random(n)
    for p in np.unique(plant[is_plant]):
        m = np.flatnonzero(plant == p)
        pl = plan.plants[p]
        street[m] = pl.street
        place[m] = pl.place
        sigma[m] = pl.sigma_m
    # coordinates: a few without, some in GCJ-02 (flagged per row); decided first so the point check
    # can follow the same round trip the import will make
    no_xy = (rng.random(n) < _NO_COORDS[ch]) & ~is_plant
    gcj = (rng.random(n) < _GCJ[ch]) & ~no_xy
    lon, lat = place_points(rng, places, place, sigma, along, gcj)

    # kinds of place (for address details)
    kind_of_place = np.empty(n, dtype=object)
    for k in PLACE_KINDS:
        lo = places.start[k]
        hi = lo + places.count[k]
        m = (place >= lo[street]) & (place < hi[street])
        kind_of_place[m] = k
    detail = _details(rng, kind_of_place)
    district = places.district[street]
    street_name = places.street[street]
    place_name = places.p_name[place]
    address = district + street_name + place_name + detail
    for p in np.unique(plant[is_plant]):
        if plan.plants[p].address:
            address[plant == p] = plan.plants[p].address

    from geo.crs import wgs84_to_gcj02

    out_lon = lon.copy()
    out_lat = lat.copy()
    glon, glat = wgs84_to_gcj02(lon[gcj], lat[gcj])
    out_lon[gcj] = np.round(glon, 6)
    out_lat[gcj] = np.round(glat, 6)
    out_lon[no_xy] = np.nan
    out_lat[no_xy] = np.nan
    crs = np.where(gcj, "gcj02", "wgs84").astype(object)
    crs[no_xy] = None

    # appeal type
    u = rng.random(n)
    cum = np.cumsum(_APPEAL_P[leaf], axis=1)
    appeal = np.array(APPEAL_TYPES, dtype=object)[(u[:, None] > cum).sum(axis=1).clip(0, 3)]

    # text
    phone_ch = channel == "电话"
    short = places.short[street]
    passing = (_LEAF_TOPIC[leaf] == "") & (rng.random(n) < PASSING_SHARE)
    content = texts.render(rng, leaf, place_name, short, phone_ch, passing)
    for p in np.unique(plant[is_plant]):
        pl = plan.plants[p]
        m = plant == p
        if pl.kind == "repeat":
            content[m] = "已经反映过好几次了，" + content[m]
        elif pl.reopened:
            content[m] = content[m] + "上个月刚治理过，现在又开始排污水了。"
    name = people.names(rng, n)
    phone = people.mobiles(rng, n)
    pii = rng.random(n)
    with_phone = pii < PHONE_IN_TEXT
    content[with_phone] = content[with_phone] + "联系电话" + phone[with_phone] + "。"
    with_id = (pii >= PHONE_IN_TEXT) & (pii < PHONE_IN_TEXT + ID_IN_TEXT)
    content[with_id] = content[with_id] + "本人身份证号" + people.id_numbers(rng, int(with_id.sum())) + "。"

    # the hotline's handling: response, closing, resolution, satisfaction
    end_ts = np.datetime64(pd.Timestamp(plan.end) + pd.Timedelta(days=1), "s")
    eff = handling.effects(district, leaf)
    responded = rng.random(n) < _sigmoid(_logit(0.972) + eff)
    resp_secs = np.minimum(rng.lognormal(np.log(1.6 * 3600), 1.0, n), 72 * 3600).astype(np.int64)
    close_secs = np.minimum(rng.lognormal(np.log(2.6 * 86400), 0.9, n), 90 * 86400).astype(np.int64)
    close_secs = np.where(responded, close_secs, close_secs * 2)
    fast = np.zeros(n, dtype=bool)
    for p in np.unique(plant[is_plant]):
        if plan.plants[p].fast_close:
            fast |= plant == p
    close_secs[fast] = rng.integers(8 * 3600, 36 * 3600, int(fast.sum()))
    resp_secs = np.minimum(resp_secs, close_secs // 2)
    responded_at = received + resp_secs.astype("timedelta64[s]")
    closed_at = received + close_secs.astype("timedelta64[s]")
    responded &= responded_at < end_ts
    closed = closed_at < end_ts
    resolved_p = _sigmoid(_logit(0.935) + eff)
    resolved = closed & (rng.random(n) < resolved_p)
    resolved[fast] = True
    rated = closed & (rng.random(n) < 0.82)
    sat_p = np.where(resolved, _sigmoid(_logit(0.975) + 0.7 * eff), 0.45)
    satisfied = rng.random(n) < sat_p
    satisfaction = np.where(satisfied, np.where(rng.random(n) < 0.76, "满意", "基本满意"), "不满意").astype(object)
    satisfaction[~rated] = None
    status = np.where(closed, "已办结", np.where(responded, "办理中", "待响应")).astype(object)

    # handling unit
    unit = np.empty(n, dtype=object)
    unit_street = street_name if places.has_streets else places.short[street]   # "{s}派出所" without streets
    for li in np.unique(leaf):
        m = np.flatnonzero(leaf == li)
        tmpl = np.array(UNITS[LEAVES[li].unit], dtype=object)
        pick = tmpl[(rng.random(m.size) < 0.3).astype(int)]
        for t in np.unique(pick):
            mm = m[pick == t]
            if "{d}" in t or "{s}" in t:
                head, _, tail = t.replace("{d}", "\0d").replace("{s}", "\0s").partition("\0")
                key, rest = tail[0], tail[1:]
                vals = district[mm] if key == "d" else unit_street[mm]
                unit[mm] = head + vals + rest
            else:
                unit[mm] = t

    if places.city != "北京市":   # the demo of another region: its own city's bodies
        unit = np.array([u.replace("北京市", places.city).replace("北京", places.city) for u in unit], dtype=object)
    if not places.has_streets:   # a region pack without streets: units are districts, the street column empty
        street_name = np.full(n, None, dtype=object)
    cols = {
        "received_at": received, "channel": channel, "appeal_type": appeal,
        "category_l1": _L1[leaf], "category_l2": _L2[leaf], "category_l3": _L3[leaf],
        "content": content, "district": district, "street": street_name, "address": address,
        "lon": out_lon, "lat": out_lat, "source_crs": crs, "handling_unit": unit, "status": status,
        "responded_at": np.where(responded, responded_at, np.datetime64("NaT")),
        "closed_at": np.where(closed, closed_at, np.datetime64("NaT")),
        "satisfaction": satisfaction,
        "resolved": np.where(closed, np.where(resolved, "是", "否"), None).astype(object),
        "complainant_name": name, "complainant_phone": phone,
        "leaf": leaf, "plant": plant, "topic": _LEAF_TOPIC[leaf],
    }
    order = np.argsort(received, kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    day_num = cols["received_at"].astype("datetime64[D]")
    first = np.r_[True, day_num[1:] != day_num[:-1]]
    starts = np.flatnonzero(first)
    seq = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    day_str = np.char.replace(np.datetime_as_string(day_num, unit="D"), "-", "").astype(object)
    cols["ticket_id"] = "BJ" + day_str + np.char.zfill(seq.astype(str), 6).astype(object)
    return cols
