"""The build plan: how many tickets of each category (and each planted place) arrive on each day.

Why a plan first: chunks of at most `chunk_rows` tickets are then generated day range by day range with
bounded memory, the totals are exact (N tickets), and the ground truth of every planted hotspot and repeat
address (counts, first and last dates) is known before a single ticket is written.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import timeline
from .places import Places, pick_place
from .taxonomy import LEAF_INDEX, LEAVES, TOPIC_LEAVES, TOPICS

HOTSPOT_SHARE = 0.35   # share of each project's tickets that fall in its planted hotspots

# (topic, district, kind of place, leaves) — "a few hotspots per project", placed where the seeds tell
# such stories (Pinggu manhole covers, Dongcheng river, Xicheng fire lanes, Fangshan nursing homes …).
HOTSPOTS = (
    ("井盖", "平谷区", "crossing"), ("井盖", "朝阳区", "crossing"), ("井盖", "丰台区", "crossing"),
    ("污水", "东城区", "river"), ("污水", "通州区", "river"), ("污水", "大兴区", "river"),
    ("假冒伪劣", "朝阳区", "market"), ("假冒伪劣", "丰台区", "market"), ("假冒伪劣", "西城区", "market"),
    ("欠薪", "通州区", "worksite"), ("欠薪", "大兴区", "worksite"), ("欠薪", "昌平区", "worksite"),
    ("消防通道", "西城区", "compound"), ("消防通道", "海淀区", "compound"),
    ("养老消防", "房山区", "nursing"), ("养老消防", "昌平区", "nursing"),
    ("两卡", "怀柔区", "telecom"), ("两卡", "朝阳区", "telecom"),
    ("未成年人保护", "朝阳区", "school"), ("未成年人保护", "海淀区", "school"),
    ("交通安全", "海淀区", "crossing"), ("交通安全", "昌平区", "crossing"),
    ("乡村生态", "大兴区", "village"), ("乡村生态", "密云区", "village"),
    ("食品安全", "东城区", "eatery"), ("食品安全", "朝阳区", "eatery"),
    ("预付卡", "朝阳区", "service"), ("预付卡", "海淀区", "service"),
)
HOTSPOT_RADIUS = {"crossing": 120.0, "market": 150.0, "river": 120.0, "worksite": 120.0, "compound": 100.0,
                  "nursing": 80.0, "eatery": 80.0, "service": 80.0, "telecom": 80.0, "school": 100.0, "village": 250.0}
LEAVES_AT = {"school": ["校园欺凌", "学生伤害"], "river": ["污水排放", "河道污染"]}
# Repeat complaints at one exact address; the 污水 one is closed and reported again a month later.
REPEATS = (("井盖", "朝阳区", "crossing", 6), ("消防通道", "西城区", "compound", 7),
           ("食品安全", "海淀区", "eatery", 5), ("交通安全", "丰台区", "crossing", 6))
RELAPSE = ("污水", "东城区", "river")


@dataclass
class Plant:
    """A planted hotspot or repeat address: a group of tickets with a fixed place and time window."""
    pid: int
    kind: str                  # hotspot / repeat / relapse
    topic: str
    leaves: list[int]
    street: int
    place: int
    sigma_m: float
    radius_m: float
    along: bool                # spread along the river segment
    address: str | None        # fixed address (repeat places) or None (varies around the place)
    label: str
    fast_close: bool = False   # closed within about a day (first phase of the relapse)
    reopened: bool = False     # second phase of the relapse
    truth: int = 0             # row of the ground-truth table


@dataclass
class Plan:
    seed: int
    end: dt.date
    days: pd.DatetimeIndex
    n_leaf: int
    plants: list[Plant]
    counts: np.ndarray         # (n_leaf + n_plants, n_days)
    truth: pd.DataFrame
    chunks: list[tuple[int, int]] = field(default_factory=list)   # [day_start, day_end) per chunk

    @property
    def n_tickets(self) -> int:
        return int(self.counts.sum())


# Beijing's districts in the order a region's own districts stand in for them (most populous first), so the
# demo of another region plants the same stories in its districts (data/synth is written for Beijing).
BEIJING_ORDER = ("朝阳区", "海淀区", "丰台区", "昌平区", "大兴区", "通州区", "顺义区", "西城区", "房山区", "东城区",
                 "石景山区", "密云区", "怀柔区", "平谷区", "门头沟区", "延庆区")


def _in_region(places: Places, district: str) -> str:
    """`district` itself when the region has it, else the region's district standing in for it."""
    have = list(dict.fromkeys(places.district.tolist()))
    if district in have:
        return district
    return have[BEIJING_ORDER.index(district) % len(have)] if district in BEIJING_ORDER else have[0]


def _street_in(rng, places: Places, district: str, kind: str) -> int:
    district = _in_region(places, district)
    m = places.district == district
    w = places.weights["rural" if kind in ("village", "worksite") and district not in ("东城区", "西城区")
                       else "all" if kind == "nursing" else "urban"] * m
    if w.sum() == 0:
        w = places.weights["all"] * m
    return int(rng.choice(w.size, p=w / w.sum()))


def _segment(places: Places, p: int, max_len_m: float = 900.0) -> None:
    """Shorten a river segment to at most max_len_m so a hotspot along it stays compact."""
    dx = (places.p_lon2[p] - places.p_lon[p]) * 111_320 * np.cos(np.radians(places.p_lat[p]))
    dy = (places.p_lat2[p] - places.p_lat[p]) * 111_320
    length = float(np.hypot(dx, dy))
    if length > max_len_m:
        f = max_len_m / length
        places.p_lon2[p] = places.p_lon[p] + f * (places.p_lon2[p] - places.p_lon[p])
        places.p_lat2[p] = places.p_lat[p] + f * (places.p_lat2[p] - places.p_lat[p])


def _half_length_m(places: Places, p: int) -> float:
    dx = (places.p_lon2[p] - places.p_lon[p]) * 111_320 * np.cos(np.radians(places.p_lat[p]))
    dy = (places.p_lat2[p] - places.p_lat[p]) * 111_320
    return float(np.hypot(dx, dy)) / 2


def _window(rng, n_days: int, min_days: int, max_days: int) -> tuple[int, int]:
    length = int(rng.integers(min_days, max_days + 1))
    length = min(length, n_days)
    s = int(rng.integers(0, n_days - length + 1))
    return s, s + length


def make_plan(seed: int, n_tickets: int, years: int, end: dt.date, places: Places, chunk_rows: int) -> Plan:
    """Exact per-day counts of every leaf and every planted place, and the ground truth."""
    if n_tickets < 1000:
        raise ValueError("the demo needs at least 1000 tickets")
    if years < 1:
        raise ValueError("years must be >= 1")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 202]))
    days = timeline.period(end, years)
    nd = len(days)
    seasons = timeline.season_weights(days)
    common = timeline.common_factor(days)
    weekday_w = timeline.WEEKDAY_FACTOR[days.day_of_week.to_numpy()]

    w_leaf = np.array([lf.weight for lf in LEAVES])
    expected = n_tickets * w_leaf / w_leaf.sum()
    topic_expected = {t: sum(expected[LEAF_INDEX[x]] for x in TOPIC_LEAVES[t]) for t in TOPICS}

    plants: list[Plant] = []
    plant_counts: list[np.ndarray] = []
    truth_rows: list[dict] = []

    def add_truth(kind, topic, st, place, radius, label, address, counts_list, **extra):
        cnt = np.sum(counts_list, axis=0)
        nz = np.flatnonzero(cnt)
        lon = float((places.p_lon[place] + places.p_lon2[place]) / 2)
        lat = float((places.p_lat[place] + places.p_lat2[place]) / 2)
        truth_rows.append({
            "truth_id": len(truth_rows) + 1, "kind": kind, "topic": topic, "district": places.district[st],
            "street": places.street[st], "street_code": places.street_code[st], "place": places.p_name[place],
            "address": address, "lon": round(lon, 6), "lat": round(lat, 6), "radius_m": radius, "label": label,
            "first_date": days[nz[0]].date() if nz.size else None,
            "last_date": days[nz[-1]].date() if nz.size else None,
            "n_tickets": int(cnt.sum()), "closed_date": extra.get("closed_date"),
            "reopened_date": extra.get("reopened_date"),
        })
        return len(truth_rows)

    # hotspots
    by_topic: dict[str, list] = {}
    for spec in HOTSPOTS:
        by_topic.setdefault(spec[0], []).append(spec)
    for specs in by_topic.values():
        shares = rng.dirichlet(np.full(len(specs), 4.0))
        for (t, district, kind), share in zip(specs, shares, strict=True):
            st = _street_in(rng, places, district, kind)
            place = int(pick_place(rng, places, np.array([st]), kind)[0])
            if kind == "river":
                _segment(places, place)
            radius = HOTSPOT_RADIUS[kind]
            sigma = radius / 2 if kind != "river" else 35.0
            if kind == "river":   # tickets spread along the segment: the truth circle covers it
                radius = round(max(radius, _half_length_m(places, place) + radius / 2), 0)
            n = max(12, round(float(topic_expected[t]) * HOTSPOT_SHARE * float(share)))
            if t == "假冒伪劣":
                s, e = 0, nd                     # markets: a standing problem, month after month
            else:
                s, e = _window(rng, nd, 90, 300)
            w = np.zeros(nd)
            w[s:e] = weekday_w[s:e]
            if t == "欠薪":
                w[s:e] *= seasons["festival_wages"][s:e]
            if t == "污水":
                w[s:e] *= seasons["sewage"][s:e]
            cnt = rng.multinomial(n, w / w.sum())
            leaves = [LEAF_INDEX[x] for x in LEAVES_AT.get(kind, TOPIC_LEAVES[t])]
            label = f"{places.district[st]}{places.street[st]}{places.p_name[place]}{t}热点"
            p = Plant(len(plants), "hotspot", t, leaves, st, place, sigma, radius, kind == "river", None, label)
            p.truth = add_truth("hotspot", t, st, place, radius, label, None, [cnt])
            plants.append(p)
            plant_counts.append(cnt)

    # repeat complaints at one exact address
    for t, district, kind, n in REPEATS:
        st = _street_in(rng, places, district, kind)
        place = int(pick_place(rng, places, np.array([st]), kind)[0])
        address = f"{places.district[st]}{places.street[st]}{places.p_name[place]}"
        s, e = _window(rng, nd - 10, 40, 90)
        cnt = np.zeros(nd, dtype=np.int64)
        for d in rng.choice(np.arange(s, e), size=n, replace=False):
            cnt[d] += 1
        label = f"{address}{t}重复投诉"
        p = Plant(len(plants), "repeat", t, [LEAF_INDEX[x] for x in TOPIC_LEAVES[t]], st, place, 12.0, 30.0, False,
                  address, label)
        p.truth = add_truth("repeat", t, st, place, 30.0, label, address, [cnt])
        plants.append(p)
        plant_counts.append(cnt)

    # the river polluted again a month after it was fixed (Dongcheng's story)
    t, district, kind = RELAPSE
    st = _street_in(rng, places, district, kind)
    place = int(pick_place(rng, places, np.array([st]), kind)[0])
    _segment(places, place, 200.0)
    address = f"{places.district[st]}{places.street[st]}{places.p_name[place]}"
    d0 = int(rng.integers(30, max(31, nd - 120)))
    c1 = np.zeros(nd, dtype=np.int64)
    c1[[d0, d0 + 2, d0 + 5]] = 1
    c2 = np.zeros(nd, dtype=np.int64)
    c2[[d0 + 38, d0 + 39, d0 + 43]] = 1
    label = f"{address}污水整改后复发"
    leaves = [LEAF_INDEX[x] for x in TOPIC_LEAVES[t]]
    p1 = Plant(len(plants), "relapse", t, leaves, st, place, 15.0, 60.0, True, address, label, fast_close=True)
    p2 = Plant(len(plants) + 1, "relapse", t, leaves, st, place, 15.0, 60.0, True, address, label, reopened=True)
    tid = add_truth("relapse", t, st, place, 60.0, label, address, [c1, c2],
                    closed_date=days[d0 + 5].date() + dt.timedelta(days=2), reopened_date=days[d0 + 38].date())
    p1.truth = p2.truth = tid
    plants += [p1, p2]
    plant_counts += [c1, c2]

    # ordinary tickets: topic leaves give up what their hotspots took
    planted_by_topic: dict[str, int] = {}
    for p, c in zip(plants, plant_counts, strict=True):
        planted_by_topic[p.topic] = planted_by_topic.get(p.topic, 0) + int(c.sum())
    adj = expected.copy()
    for t in TOPICS:
        idx = [LEAF_INDEX[x] for x in TOPIC_LEAVES[t]]
        tot = adj[idx].sum()
        adj[idx] *= max(tot - planted_by_topic.get(t, 0), 0.05 * tot) / tot
    n_plants = int(sum(c.sum() for c in plant_counts))
    cell = np.stack([adj[i] * seasons[lf.season] * common for i, lf in enumerate(LEAVES)])
    cell = cell / cell.sum()
    leaf_counts = rng.multinomial(n_tickets - n_plants, cell.ravel()).reshape(cell.shape)
    counts = np.vstack([leaf_counts, np.stack(plant_counts)]).astype(np.int64)

    truth = pd.DataFrame(truth_rows)
    plan = Plan(seed=seed, end=end, days=days, n_leaf=len(LEAVES), plants=plants, counts=counts, truth=truth)
    plan.chunks = _chunks(counts.sum(axis=0), chunk_rows)
    return plan


def _chunks(per_day: np.ndarray, chunk_rows: int) -> list[tuple[int, int]]:
    """Consecutive day ranges of at most chunk_rows tickets and similar sizes (a day is never split)."""
    total = int(per_day.sum())
    room = max(chunk_rows - int(per_day.max()), 1)
    n_chunks = max(1, -(-total // room))
    if n_chunks == 1 and total <= chunk_rows:
        return [(0, len(per_day))]
    cum = np.cumsum(per_day)
    targets = total * np.arange(1, n_chunks) / n_chunks
    cuts = np.unique(np.searchsorted(cum, targets, side="right"))
    bounds = [0, *[int(c) for c in cuts if 0 < c < len(per_day)], len(per_day)]
    out = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    sizes = [int(per_day[a:b].sum()) for a, b in out]
    if max(sizes) > chunk_rows:  # pragma: no cover - guarded by `room`
        raise ValueError(f"a day holds more than {chunk_rows} tickets; use a larger --chunk-rows")
    return out
