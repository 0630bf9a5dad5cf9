"""Where the demo's tickets happen: street weights, named places inside each street, planted hotspots.

Why: a map of uniform random dots teaches nothing. Tickets here follow resident population (with an uplift
in the capital core), gather around named places (compounds, crossings, markets, rivers, worksites, schools…)
that are sampled inside the real street polygons, and each special project gets a few planted hotspots and
repeat addresses whose ground truth is recorded (see `plant_table`). Every coordinate written to a file is
checked to fall inside its street's polygon after the same rounding and GCJ-02 round trip the import does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely

from geo import boundaries
from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02

from .taxonomy import DISTRICT_UPLIFT

COORD_DECIMALS = 6
POOL_PER_STREET = 160

COMPOUND_STEMS = ("阳光", "幸福", "和平", "锦绣", "金泰", "融泽", "华清", "丽景", "翠微", "怡海", "康乐", "安华",
                  "惠新", "育新", "芳古", "西坝", "北苑", "南湖", "青年", "枫林", "紫竹", "玉兰", "百合", "春晖",
                  "东湖", "清芷", "望春", "颐和", "天通", "新华", "建华", "友谊", "团结", "光明", "朝晖", "秀水",
                  "嘉铭", "金隅", "首城", "润泽", "永泰", "世纪", "欣园", "富力", "恒安", "瑞祥")
COMPOUND_SUFFIX = ("小区", "家园", "花园", "嘉园", "北里", "西里", "南里", "东里", "苑", "新村", "公寓", "社区")
ROAD_STEMS = ("安定", "和平", "建设", "兴华", "永安", "长安", "光华", "文化", "学院", "工业", "滨河", "育才",
              "友谊", "团结", "富强", "胜利", "科技", "景园", "北环", "南环", "振兴", "新源", "中关", "东湖")
ROAD_SUFFIX = ("路", "大街", "南路", "北路", "东路", "西路", "街")
MARKET_SUFFIX = ("农贸市场", "批发市场", "服装市场", "小商品市场", "建材市场", "菜市场", "综合市场")
EATERY_SUFFIX = ("超市", "便利店", "餐厅", "快餐店", "烘焙店", "火锅店", "熟食店", "饭馆")
SERVICE_SUFFIX = ("健身房", "美容美发店", "教育培训中心", "游泳馆", "洗衣店", "儿童乐园")
TELECOM_SUFFIX = ("通讯营业厅", "手机卖场", "便利店", "通讯器材店")
SURNAME_VILLAGE = ("李家", "王家", "张家", "刘家", "马坊", "西营", "南各", "东辛", "后沙", "前屯", "北务", "杨各",
                   "大辛", "小王", "孙家", "周家", "高家", "石槽", "河南", "北庄")
VILLAGE_SUFFIX = ("庄村", "营村", "屯村", "务村", "村")

# Real rivers of each district, for sewage places and hotspots.
RIVERS = {
    "东城区": ("护城河", "通惠河", "亮马河"), "西城区": ("护城河", "转河", "北护城河"),
    "朝阳区": ("亮马河", "坝河", "萧太后河", "通惠河", "北小河"), "丰台区": ("凉水河", "丰草河", "马草河"),
    "石景山区": ("永定河", "南旱河"), "海淀区": ("清河", "小月河", "南长河", "万泉河"),
    "门头沟区": ("永定河", "清水河"), "房山区": ("大石河", "小清河", "拒马河"),
    "通州区": ("北运河", "凉水河", "萧太后河", "通惠河"), "顺义区": ("潮白河", "温榆河", "小中河"),
    "昌平区": ("温榆河", "北沙河", "东沙河"), "大兴区": ("凉水河", "新凤河", "天堂河", "龙河"),
    "怀柔区": ("怀沙河", "怀九河", "雁栖河"), "平谷区": ("泃河", "洳河", "错河"),
    "密云区": ("潮河", "白河", "清水河"), "延庆区": ("妫水河", "蔡家河"),
}

OTHER_RIVERS = ("护城河", "城区河道", "排洪沟")   # a region without a river list of its own

# Kinds of places, how many per street, and the jitter of tickets around one (metres).
PLACE_KINDS = {
    "compound": (16, 70.0), "crossing": (6, 30.0), "market": (2, 60.0), "river": (2, 35.0),
    "worksite": (3, 60.0), "school": (3, 50.0), "nursing": (2, 30.0), "eatery": (6, 25.0),
    "service": (4, 25.0), "telecom": (2, 25.0),
    "hospital": (2, 60.0), "village": (8, 150.0), "road": (5, 120.0),
}
KIND_ORDER = tuple(PLACE_KINDS)

DETAILS = {
    "compound": ("{n}号楼", "{n}号楼{u}单元", "东门", "南门", "北门", "{n}号楼前", "地下车库", "{n}号院"),
    "crossing": ("东北角", "西南角", "附近", "北侧", "南侧", ""),
    "market": ("东门", "西门", "{n}号摊位", "附近", "北侧", ""),
    "river": ("{n}号排口附近", "桥下", "北岸", "南岸", "附近"),
    "worksite": ("", "东侧", "{n}号门", ""),
    "school": ("", "门口", "东门", "附近"),
    "nursing": ("", "{n}号楼", ""),
    "eatery": ("", "{n}号", "{n}层"),
    "service": ("", "{n}号", "{n}层"),
    "telecom": ("", "{n}号", "门口"),
    "hospital": ("", "门诊楼", "急诊"),
    "village": ("{n}号", "村口", "村东", "村西", "北侧空地"),
    "road": ("{n}号", "附近", "东侧", "西侧", "公交站附近"),
}


def short_street(name: str) -> str:
    for suf in ("街道", "地区", "镇", "乡"):
        if name.endswith(suf) and len(name) > len(suf) + 1:
            return name[: -len(suf)]
    return name


@dataclass
class Places:
    """Streets, their sampling weights and named places, all as aligned numpy arrays."""
    street: np.ndarray        # names, index = street number
    street_code: np.ndarray
    district: np.ndarray
    short: np.ndarray
    kind_of_street: np.ndarray  # 0 街道, 1 镇, 2 乡
    weights: dict             # area class -> probabilities over streets
    # places: for kind k, per street s the index range [start, start+count) into the arrays below
    start: dict
    count: dict
    p_lon: np.ndarray
    p_lat: np.ndarray
    p_lon2: np.ndarray        # second end for rivers (segments), = p_lon otherwise
    p_lat2: np.ndarray
    p_name: np.ndarray
    p_street: np.ndarray
    geoms: np.ndarray         # prepared street polygons
    has_streets: bool = True  # False: a region pack without streets, whose units are its districts
    city: str = "北京市"       # the region's name, for the handling units' names


def _street_type(name: str) -> int:
    if name.endswith("乡"):
        return 2
    if name.endswith("镇"):
        return 1
    return 0


def valid_both_ways(lon, lat, street_idx, geoms, gcj: np.ndarray | None = None) -> np.ndarray:
    """True where the rounded point lies in its street, as the import will see it.

    For points written in GCJ-02 (`gcj` True; all points when gcj is None) the rounded GCJ-02 coordinates
    converted back to WGS84 must also lie in the street.
    """
    lon = np.round(np.asarray(lon, float), COORD_DECIMALS)
    lat = np.round(np.asarray(lat, float), COORD_DECIMALS)
    blon, blat = lon.copy(), lat.copy()
    g = np.ones(lon.shape[0], dtype=bool) if gcj is None else np.asarray(gcj, dtype=bool)
    if g.any():
        glon, glat = wgs84_to_gcj02(lon[g], lat[g])
        blon[g], blat[g] = gcj02_to_wgs84(np.round(glon, COORD_DECIMALS), np.round(glat, COORD_DECIMALS))
    ok = np.zeros(lon.shape[0], dtype=bool)
    order = np.argsort(street_idx, kind="stable")
    s_sorted = street_idx[order]
    cuts = np.flatnonzero(np.diff(s_sorted)) + 1
    for grp in np.split(order, cuts):
        if grp.size == 0:
            continue
        s_i = int(street_idx[grp[0]])
        poly = geoms[s_i]
        inside = shapely.contains_xy(poly, lon[grp], lat[grp])
        gg = g[grp]
        if gg.any():
            inside[gg] &= shapely.contains_xy(poly, blon[grp[gg]], blat[grp[gg]])
        # street polygons overlap slightly; geo.boundaries.assign_points gives such a point to the first
        # (lowest-index) street, so a point is only valid if no earlier overlapping street contains it
        for j in _earlier_overlaps(len(geoms)).get(s_i, ()):
            inside &= ~shapely.contains_xy(geoms[j], lon[grp], lat[grp])
            if gg.any():
                inside[gg] &= ~shapely.contains_xy(geoms[j], blon[grp[gg]], blat[grp[gg]])
        ok[grp] = inside
    return ok


def units():
    """The finest polygons the demo places tickets in: the active region's streets, else its districts (as
    units whose street name is empty). Columns street_code, street, district, geometry."""
    st = boundaries.streets()
    if len(st):
        return st
    d = boundaries.districts()
    return d.assign(street_code=d["adcode"], street="")[["street_code", "street", "district", "geometry"]]


def _earlier_overlaps(n: int) -> dict[int, tuple[int, ...]]:
    from geo import regions

    return _region_overlaps(regions.active().name, n)


@lru_cache(maxsize=8)
def _region_overlaps(region: str, n: int) -> dict[int, tuple[int, ...]]:
    """For each street, the lower-index streets whose polygons overlap it with a positive area."""
    geoms = units().geometry.values
    assert len(geoms) == n
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    out: dict[int, list[int]] = {}
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        if j < i and shapely.area(shapely.intersection(geoms[i], geoms[j])) > 0:
            out.setdefault(i, []).append(j)
    return {k: tuple(v) for k, v in out.items()}


def _pool(rng: np.random.Generator, geoms: np.ndarray, n_per: int) -> tuple[np.ndarray, np.ndarray]:
    """n_per valid points inside each street (rejection sampling in the bounding box)."""
    n_s = len(geoms)
    lon = np.empty((n_s, n_per))
    lat = np.empty((n_s, n_per))
    for s, g in enumerate(geoms):
        minx, miny, maxx, maxy = shapely.bounds(g)
        got_x: list[np.ndarray] = []
        got_y: list[np.ndarray] = []
        need = n_per
        frac = max(shapely.area(g) / max((maxx - minx) * (maxy - miny), 1e-12), 0.02)
        while need > 0:
            m = int(need / frac * 1.5) + 16
            x = rng.uniform(minx, maxx, m)
            y = rng.uniform(miny, maxy, m)
            ok = valid_both_ways(x, y, np.full(m, s), geoms)
            got_x.append(x[ok][:need])
            got_y.append(y[ok][:need])
            need -= int(min(ok.sum(), need))
        lon[s] = np.concatenate(got_x)
        lat[s] = np.concatenate(got_y)
    return lon, lat


def _cached_pool(seed: int) -> tuple[np.ndarray, np.ndarray]:
    from geo import regions

    return _region_pool(regions.active().name, seed)


@lru_cache(maxsize=4)
def _region_pool(region: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The valid points of every street for a seed (own random stream; cached: the slow part of set-up)."""
    geoms = units().geometry.values.copy()
    shapely.prepare(geoms)
    lon, lat = _pool(np.random.default_rng(np.random.SeedSequence([seed, 102])), geoms, POOL_PER_STREET)
    lon.flags.writeable = False
    lat.flags.writeable = False
    return lon, lat


def _names(rng, kind: str, n: int, short: str, district: str) -> list[str]:
    out = []
    for _ in range(n):
        if kind == "compound":
            stem = short if rng.random() < 0.3 else COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]
            out.append(stem + COMPOUND_SUFFIX[rng.integers(len(COMPOUND_SUFFIX))])
        elif kind in ("crossing", "road"):
            a = (short if rng.random() < 0.35 else ROAD_STEMS[rng.integers(len(ROAD_STEMS))]) + \
                ROAD_SUFFIX[rng.integers(len(ROAD_SUFFIX))]
            if kind == "road":
                out.append(a)
                continue
            b = ROAD_STEMS[rng.integers(len(ROAD_STEMS))] + ROAD_SUFFIX[rng.integers(len(ROAD_SUFFIX))]
            out.append(f"{a}与{b}交叉路口" if rng.random() < 0.6 else f"{a}{b}路口")
        elif kind == "market":
            stem = short if rng.random() < 0.5 else COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]
            out.append(stem + MARKET_SUFFIX[rng.integers(len(MARKET_SUFFIX))])
        elif kind == "river":
            rivers = RIVERS.get(district, OTHER_RIVERS)
            out.append(f"{rivers[rng.integers(len(rivers))]}{short}段")
        elif kind == "worksite":
            stem = COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]
            out.append(f"{stem}{('项目', '住宅项目', '商业综合体项目', '道路改造工程')[rng.integers(4)]}工地")
        elif kind == "school":
            out.append((f"{short}第{'一二三四五'[rng.integers(5)]}小学", f"{short}中学",
                        f"{COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]}幼儿园",
                        f"{COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]}实验学校")[rng.integers(4)])
        elif kind == "nursing":
            out.append((f"{COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]}养老院", f"{short}养老照料中心",
                        f"{COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]}老年公寓")[rng.integers(3)])
        elif kind in ("eatery", "service", "telecom"):
            suf = {"eatery": EATERY_SUFFIX, "service": SERVICE_SUFFIX, "telecom": TELECOM_SUFFIX}[kind]
            out.append(COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))] + suf[rng.integers(len(suf))])
        elif kind == "hospital":
            out.append((f"{short}社区卫生服务中心", f"{district[:-1]}区医院" if len(district) > 2 else "区医院",
                        f"{COMPOUND_STEMS[rng.integers(len(COMPOUND_STEMS))]}医院")[rng.integers(3)])
        elif kind == "village":
            out.append(SURNAME_VILLAGE[rng.integers(len(SURNAME_VILLAGE))] + VILLAGE_SUFFIX[rng.integers(len(VILLAGE_SUFFIX))])
        else:  # pragma: no cover - guarded by PLACE_KINDS
            raise ValueError(kind)
    return out


def build_places(seed: int) -> Places:
    """Streets, weights and named places for a seed (deterministic)."""
    from geo import names, regions

    rng = np.random.default_rng(np.random.SeedSequence([seed, 101]))
    st = units()
    has_streets = bool(len(boundaries.streets()))
    geoms = st.geometry.values.copy()
    shapely.prepare(geoms)
    street = st["street"].to_numpy(dtype=object)
    district = st["district"].to_numpy(dtype=object)
    short = np.array([short_street(s) if s else names.short_district(d) for s, d in zip(street, district,
                                                                                        strict=True)], dtype=object)
    stype = np.array([_street_type(s) for s in street]) if has_streets else np.ones(len(street), dtype=int)
    n_s = len(street)

    # resident population, or the square root of the area where the pack has no population table
    dist = boundaries.district_table().set_index("district")
    pop = dist["population"].astype("Float64")
    if pop.isna().any():
        pop = (dist["area_km2"] ** 0.5 * 1e4).astype("Float64")
    noise = rng.lognormal(0.0, 0.35, n_s)
    weights = {}
    for area, factors in {"all": (1.0, 0.55, 0.3), "urban": (1.0, 0.3, 0.08), "rural": (0.0, 1.0, 1.3)}.items():
        within = np.array([factors[t] for t in stype]) * noise
        w = np.zeros(n_s)
        for d in np.unique(district):
            m = district == d
            if within[m].sum() == 0:
                continue
            dw = pop[d] * DISTRICT_UPLIFT.get(d, 1.0)
            if area == "rural" and d in ("东城区", "西城区"):
                continue
            w[m] = dw * within[m] / within[m].sum()
        weights[area] = w / w.sum()

    pool_lon, pool_lat = _cached_pool(seed)

    start: dict[str, np.ndarray] = {}
    count: dict[str, np.ndarray] = {}
    lon, lat, lon2, lat2, names_out, pstreet = [], [], [], [], [], []
    pos = 0
    for kind, (k_n, _) in PLACE_KINDS.items():
        start[kind] = np.zeros(n_s, dtype=np.int64)
        count[kind] = np.zeros(n_s, dtype=np.int64)
        for s in range(n_s):
            k = k_n
            if kind == "village" and stype[s] == 0:
                k = 0
            if k == 0:
                start[kind][s] = pos
                continue
            pick = rng.choice(POOL_PER_STREET, size=2 * k, replace=False)
            lon.append(pool_lon[s, pick[:k]])
            lat.append(pool_lat[s, pick[:k]])
            if kind == "river":
                lon2.append(pool_lon[s, pick[k:]])
                lat2.append(pool_lat[s, pick[k:]])
            else:
                lon2.append(pool_lon[s, pick[:k]])
                lat2.append(pool_lat[s, pick[:k]])
            names_out.extend(_names(rng, kind, k, short[s], district[s]))
            pstreet.append(np.full(k, s))
            start[kind][s] = pos
            count[kind][s] = k
            pos += k
    return Places(
        street=street, street_code=st["street_code"].to_numpy(dtype=object), district=district, short=short,
        kind_of_street=stype, weights=weights, start=start, count=count,
        p_lon=np.concatenate(lon), p_lat=np.concatenate(lat), p_lon2=np.concatenate(lon2),
        p_lat2=np.concatenate(lat2), p_name=np.array(names_out, dtype=object), p_street=np.concatenate(pstreet),
        geoms=geoms, has_streets=has_streets, city=regions.active().label,
    )


M_PER_DEG_LAT = 111_320.0


def jitter(rng, lon, lat, sigma_m) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian jitter of sigma metres (scalar or array)."""
    n = np.shape(lon)[0]
    dy = rng.normal(0.0, 1.0, n) * sigma_m / M_PER_DEG_LAT
    dx = rng.normal(0.0, 1.0, n) * sigma_m / (M_PER_DEG_LAT * np.cos(np.radians(lat)))
    return lon + dx, lat + dy


def place_points(rng, places: Places, place_idx: np.ndarray, sigma_m: np.ndarray,
                 along: np.ndarray | None = None, gcj: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Points around places (or along river segments), guaranteed valid inside the place's street.

    A point that falls outside is redrawn a few times, then replaced by the place itself (always valid).
    """
    u = rng.random(place_idx.size) if along is None else along
    base_lon = places.p_lon[place_idx] + u * (places.p_lon2[place_idx] - places.p_lon[place_idx])
    base_lat = places.p_lat[place_idx] + u * (places.p_lat2[place_idx] - places.p_lat[place_idx])
    lon, lat = jitter(rng, base_lon, base_lat, sigma_m)
    s = places.p_street[place_idx]
    bad = ~valid_both_ways(lon, lat, s, places.geoms, gcj)
    for _ in range(4):
        if not bad.any():
            break
        i = np.flatnonzero(bad)
        lon[i], lat[i] = jitter(rng, base_lon[i], base_lat[i], np.asarray(sigma_m)[i] if np.ndim(sigma_m) else sigma_m)
        bad[i] = ~valid_both_ways(lon[i], lat[i], s[i], places.geoms, None if gcj is None else gcj[i])
    i = np.flatnonzero(bad)
    lon[i], lat[i] = places.p_lon[place_idx[i]], places.p_lat[place_idx[i]]
    return np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)


def pick_place(rng, places: Places, street_idx: np.ndarray, kind: str) -> np.ndarray:
    """A random place of `kind` in each given street (villages fall back to compounds in urban streets)."""
    k = np.full(street_idx.size, kind, dtype=object)
    cnt = places.count[kind][street_idx]
    if kind == "village":
        k[cnt == 0] = "compound"
    out = np.empty(street_idx.size, dtype=np.int64)
    for kk in np.unique(k):
        m = k == kk
        c = places.count[kk][street_idx[m]]
        out[m] = places.start[kk][street_idx[m]] + (rng.random(m.sum()) * c).astype(np.int64)
    return out
