"""Measure the import speed on generated files: `python -m data.ingest.benchmark [--rows N]`.

Writes a Parquet file and a CSV file of realistic 12345 tickets (standard
Chinese headers, Beijing coordinates around the street label points, text of
a realistic length, mixed date forms in the CSV) and imports each into a fresh
store, timing cleaning + geo + merge with and without the derived-table refresh.
The figures go to docs/performance.md. Also used by the tests (small n).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CATEGORIES = [
    ("城乡建设", "市政设施", "井盖破损"), ("生态环境", "水污染", "污水排放"), ("市场监管", "商品质量", "假冒伪劣"),
    ("劳动社保", "劳动关系", "拖欠工资"), ("公共安全", "消防安全", "消防通道占用"), ("交通管理", "道路交通", "信号灯故障"),
    ("城乡建设", "物业管理", "物业服务"), ("城乡建设", "环境卫生", "垃圾清运"), ("住房保障", "供暖", "供暖不热"),
    ("交通管理", "停车管理", "乱停车"), ("市场监管", "消费纠纷", "预付卡"), ("教育", "校园安全", "校园欺凌"),
]
TEXTS = [
    "{addr}路口井盖破损，车辆经过很危险，请尽快修复。", "{addr}附近河道有人偷排污水，河水发黑发臭。",
    "{addr}市场有商户卖假货，假冒名牌。", "{addr}工地包工头拖欠农民工工资三个月。",
    "{addr}小区消防通道被车辆占用，堵塞严重。", "{addr}路口红绿灯坏了，早晚高峰很乱。",
    "{addr}小区物业不作为，楼道灯坏了很久没人修。", "{addr}垃圾桶满了好几天没有清运。",
    "{addr}家里暖气不热，室温只有十四度。", "{addr}门口乱停车，出行不便。",
    "{addr}健身房办了预付卡后关门跑路，要求退费。", "{addr}学校有学生被欺负，家长反映校园欺凌。",
]
CHANNELS = ["电话", "网络", "微信", "App"]
TYPES = ["投诉", "求助", "咨询", "建议"]
STATUS = ["已办结", "办理中", "已办结", "已办结"]
SAT = ["满意", "基本满意", "不满意", None]


def make_tickets(n: int, seed: int = 1, *, start: dt.datetime = dt.datetime(2024, 1, 1)) -> dict:
    """Columns of `n` generated tickets under the standard Chinese headers (typed, for Parquet)."""
    from geo.boundaries import street_table

    rng = np.random.default_rng(seed)
    st = street_table()
    si = rng.integers(0, len(st), n)
    ci = rng.integers(0, len(CATEGORIES), n)
    lon = st["lon"].to_numpy()[si] + rng.normal(0, 0.003, n)
    lat = st["lat"].to_numpy()[si] + rng.normal(0, 0.003, n)
    no_pt = rng.random(n) < 0.1
    secs = rng.integers(0, 365 * 86400, n)
    received = np.datetime64(start) + secs.astype("timedelta64[s]")
    responded = received + rng.integers(600, 86400, n).astype("timedelta64[s]")
    closed = responded + rng.integers(3600, 7 * 86400, n).astype("timedelta64[s]")
    streets = st["street"].to_numpy()[si]
    districts = st["district"].to_numpy()[si]
    texts = np.array(TEXTS, dtype=object)[ci]
    addr = np.char.add(streets.astype(str), "某小区")
    content = [t.format(addr=a) for t, a in zip(texts, addr, strict=True)]
    cats = np.array(CATEGORIES, dtype=object)
    return {
        "工单编号": [f"B{seed:02d}{i:09d}" for i in range(n)],
        "受理时间": received,
        "来电渠道": np.array(CHANNELS, dtype=object)[rng.integers(0, 4, n)],
        "诉求类型": np.array(TYPES, dtype=object)[rng.integers(0, 4, n)],
        "一级分类": cats[ci, 0], "二级分类": cats[ci, 1], "三级分类": cats[ci, 2],
        "诉求内容": content,
        "所属区": np.where(rng.random(n) < 0.2, None, districts),
        "街道": np.where(rng.random(n) < 0.3, None, streets),
        "详细地址": addr,
        "经度": np.where(no_pt, np.nan, lon.round(6)),
        "纬度": np.where(no_pt, np.nan, lat.round(6)),
        "承办单位": np.char.add(districts.astype(str), "城管委"),
        "办理状态": np.array(STATUS, dtype=object)[rng.integers(0, 4, n)],
        "响应时间": responded, "办结时间": closed,
        "满意度": np.array(SAT, dtype=object)[rng.integers(0, 4, n)],
        "诉求人": ["张三"] * n,
        "联系电话": [f"138{x:08d}" for x in rng.integers(0, 10**8, n)],
    }


def write_parquet(path: Path, n: int, seed: int = 1) -> Path:
    cols = make_tickets(n, seed)
    pq.write_table(pa.table({k: pa.array(v, from_pandas=True) for k, v in cols.items()}), path)
    return path


def write_csv(path: Path, n: int, seed: int = 2) -> Path:
    """CSV with text times in two common forms (2024/3/5 9:07:00 and 2024-03-05 09:07:00)."""
    cols = make_tickets(n, seed)
    for k in ("受理时间", "响应时间", "办结时间"):
        t = cols[k].astype("datetime64[s]").astype(str)
        slash = np.char.replace(np.char.replace(t, "T", " "), "-", "/")
        iso = np.char.replace(t, "T", " ")
        cols[k] = np.where(np.arange(n) % 2 == 0, slash, iso)
    table = pa.table({k: pa.array(v, from_pandas=True) for k, v in cols.items()})
    pacsv.write_csv(table, path)
    return path


def measure(path: Path, *, refresh: bool) -> dict:
    from data import store
    from data.ingest import ingest_files

    with tempfile.TemporaryDirectory() as d:
        con = store.connect(Path(d) / "bench.duckdb")
        t0, c0 = time.perf_counter(), time.process_time()
        (rep,) = ingest_files(con, [path], refresh=refresh)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        con.close()
    assert rep.ok, rep.message
    return {"file": path.name, "rows": rep.rows_read, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2),
            "rows_per_s": round(rep.rows_read / secs), "refresh": refresh, "inserted": rep.inserted}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parquet-rows", type=int, default=1_000_000)
    ap.add_argument("--csv-rows", type=int, default=200_000)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--refresh", action="store_true", help="also time the derived-table refresh (words: slow)")
    args = ap.parse_args(argv)
    d = Path(args.dir)
    pqf = write_parquet(d / f"bench_{args.parquet_rows}.parquet", args.parquet_rows)
    csvf = write_csv(d / f"bench_{args.csv_rows}.csv", args.csv_rows)
    print(f"files: {pqf} ({pqf.stat().st_size / 1e6:.1f} MB), {csvf} ({csvf.stat().st_size / 1e6:.1f} MB)")
    import os

    print(f"load average before: {os.getloadavg()}")
    for f in (pqf, csvf):
        print(measure(f, refresh=False))
        if args.refresh:
            print(measure(f, refresh=True))


if __name__ == "__main__":
    main()
