"""Region packs: the places a store works on, as data (boundaries, populations, aliases, bounds, rules).

Why: every Chinese city runs a 12345 hotline, and the procuratorates of Bengbu, Xinye (Nanyang) or Chengdu
load their own exports. A pack is a folder (`geo/regions/<name>/`, or one built into HOTLINE_REGIONS_DIR by
`python manage.py region build`) with:

- `region.yaml`: name, Chinese label, province, adcode, centre, optional bounds and core districts, the
  sources and licences, the simplification tolerance, and the files below;
- the district (区/县) polygons, WGS84, and optionally the street/township (街道/乡镇) polygons;
- optionally the resident population per district (2020 census) and a table of name aliases (short forms,
  Traditional, pinyin, former names);
- the region's default special-project rules (the topic rules of data/topics.py), which also seed its
  screening library.

A store records the region it holds (meta `region`, written when the geography is loaded); every process
works on one region at a time: `activate` is called when a store is opened (data/store.py), and everything
in geo/ reads `active()`. HOTLINE_REGION chooses the region of a new store (default beijing); a store made
before packs existed holds Beijing. The pack `none` has no geography at all (anonymised "A市" data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from data import settings

SHIPPED_DIR = Path(__file__).with_name("regions")
DEFAULT = "beijing"
META_KEY = "region"


class RegionError(ValueError):
    """A region pack is missing or invalid; the message is in Chinese."""


@dataclass(frozen=True)
class Region:
    """One region pack (see the module docstring)."""

    name: str
    label: str
    folder: Path
    province: str = ""
    adcode: str = ""
    centre: tuple[float, float] | None = None
    bbox: tuple[float, float, float, float] | None = None    # generous bounds; default: districts' bounds + margin
    core: tuple[str, ...] = ()
    districts_file: str | None = None      # district polygons; None: dissolved from the streets
    streets_file: str | None = None
    street_points_file: str | None = None  # Beijing: guaranteed-inside label points and areas of the streets
    population_file: str | None = None
    aliases_file: str | None = None
    topics_file: str | None = None
    attribution: str = ""
    tolerance_deg: float = 0.0             # Douglas-Peucker tolerance the polygons were simplified with
    source: dict = field(default_factory=dict)

    def path(self, name: str | None) -> Path | None:
        if not name:
            return None
        p = Path(name)
        return p if p.is_absolute() else (self.folder / p).resolve()

    @property
    def has_geography(self) -> bool:
        return bool(self.districts_file or self.streets_file)

    @property
    def has_streets(self) -> bool:
        return bool(self.streets_file)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """What an address may start with before the district: 安徽省蚌埠市, 蚌埠市, 蚌埠 ... (longest first)."""
        city = self.label
        short_city = city[:-1] if city.endswith("市") and len(city) > 2 else city
        short_prov = self.province[:-1] if self.province.endswith("省") else self.province
        out = {self.province + city, short_prov + city, city, short_city, self.province, short_prov}
        return tuple(sorted((p for p in out if p), key=len, reverse=True))


def regions_dirs() -> list[Path]:
    """Where packs are looked for: the shipped ones, then HOTLINE_REGIONS_DIR (packs built here)."""
    return [SHIPPED_DIR, settings.path("HOTLINE_REGIONS_DIR")]


def available() -> dict[str, Path]:
    """name -> folder of every pack found (a built pack of the same name wins over a shipped one)."""
    out: dict[str, Path] = {}
    for d in regions_dirs():
        if d.is_dir():
            for sub in sorted(d.iterdir()):
                if (sub / "region.yaml").is_file():
                    out[sub.name] = sub
    return out


@lru_cache(maxsize=16)
def _load(name: str, folder: str) -> Region:
    p = Path(folder) / "region.yaml"
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RegionError(f"区域包 {name} 的 region.yaml 无法读取：{exc}") from exc
    files = spec.get("files") or {}
    centre = spec.get("centre")
    bbox = spec.get("bbox")
    return Region(
        name=name, label=str(spec.get("label") or name), folder=Path(folder),
        province=str(spec.get("province") or ""), adcode=str(spec.get("adcode") or ""),
        centre=tuple(float(x) for x in centre) if centre else None,
        bbox=tuple(float(x) for x in bbox) if bbox else None,
        core=tuple(spec.get("core_districts") or ()),
        districts_file=files.get("districts"), streets_file=files.get("streets"),
        street_points_file=files.get("street_points"), population_file=files.get("population"),
        aliases_file=files.get("aliases"), topics_file=files.get("topics"),
        attribution=str(spec.get("attribution") or ""), tolerance_deg=float(spec.get("simplify_tolerance_deg") or 0),
        source=dict(spec.get("source") or {}),
    )


def get(name: str) -> Region:
    """The pack called `name` (RegionError naming the packs there are)."""
    packs = available()
    if name not in packs:
        raise RegionError(f"没有名为“{name}”的区域包；现有：{'、'.join(packs) or '（无）'}。"
                          "可用 `python manage.py region build --name 城市名` 生成。")
    return _load(name, str(packs[name]))


_process: dict[str, str] = {}


def configured() -> str:
    """The region HOTLINE_REGION names (the region of a new store)."""
    return str(settings.get("HOTLINE_REGION") or DEFAULT).strip() or DEFAULT


def activate(name: str | None) -> Region:
    """Make `name` (None: HOTLINE_REGION) the region geo/ works on in this process; returns it."""
    r = get(name or configured())
    _process["name"] = r.name
    return r


def active() -> Region:
    """The region of the store this process opened last (else HOTLINE_REGION)."""
    return get(_process.get("name") or configured())


def of_store(con) -> str:
    """The region a store holds (meta `region`; a store from before packs holds Beijing)."""
    try:
        (name,) = con.execute("SELECT max(value) FROM meta WHERE key = $k", {"k": META_KEY}).fetchone()
    except duckdb.Error:   # a store without the meta table: the default
        name = None
    return name or DEFAULT


def mismatch_note(store_region: str) -> str | None:
    """Says so when HOTLINE_REGION is set to another region than the store holds (the store wins)."""
    import os

    wanted = os.environ.get("HOTLINE_REGION", "").strip()
    if wanted and wanted != store_region:
        held = get(store_region).label if store_region in available() else store_region
        return (f"HOTLINE_REGION={wanted}，但数据库保存的是“{held}”的数据，仍按“{held}”显示。"
                f"如需切换，请运行 `python manage.py region install {wanted} --db 数据库路径`。")
    return None
