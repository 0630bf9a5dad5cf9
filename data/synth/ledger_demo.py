"""The demo's ledger: a seeded 12309 export of letters and visits, and clues worked in the app.

Why: a demo store has the case system's clues (imported) but nothing a prosecutor did in the app and no
12309 letters, so the ledger's pages, the 12309 measures and the monthly report would show nothing of their
own. After the demo store is built (`manage.py demo`), this writes `12309_letters.csv` (the 12309 centre's
export layout, data/mappings/letters_12309.yaml) and imports it through the letters import, then registers
clues in the app from recent special-project tickets that no imported clue covers, some from letters, and
moves them through their stages with dated steps, as prosecutors of their districts would (an overdue
reply, a correction with its reason, counted rectification results among them). Everything goes through the
ledger's own API (data/ledger), so the demo's records are what the app would have written; the steps are
dated in the past (`on=`, `registered_at=`), the entries recorded when the demo was built.

Calibration (../shared/DOMAIN.md): Bengbu received 3,613 letters and visits in about 2.5 years with a
procedural reply within 7 days and a result within 3 months for all of them; here about one letter per 120
tickets, 97% replied in time and 95% answered in time (a few late or missing, so the measures are not a
constant 100%).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data import records, store
from data.audit import Actor

LETTERS_FILE = "12309_letters.csv"
HEADERS = ["信访编号", "收到时间", "信访形式", "信访事项", "事项类别", "受理单位", "信访人", "联系电话", "程序性回复时间",
           "办理结果答复时间", "办理结果"]
CHANNELS = (("来信", 0.38), ("来访", 0.24), ("12309热线", 0.22), ("网上信访", 0.16))
CATEGORIES = (("控告", 0.22), ("申诉", 0.28), ("举报", 0.18), ("求决", 0.2), ("意见建议", 0.12))
MATTERS = {
    "控告": ("反映{d}某派出所对报案不予立案", "控告{d}某执法人员违规执法"),
    "申诉": ("不服{d}人民法院民事判决，申请监督", "对{d}法院执行案件久拖不决提出申诉"),
    "举报": ("举报{d}某市场销售假冒商品", "举报{d}某工地偷排污水", "举报{d}某公司拖欠农民工工资"),
    "求决": ("请求督促解决{d}小区井盖破损问题", "请求督促清理{d}消防通道占用", "请求追索拖欠工资"),
    "意见建议": ("对{d}养老机构消防安全提出建议", "建议加强{d}学校周边交通安全管理"),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
RESULTS = ("已答复信访人，依法予以监督", "已转相关部门办理并告知", "经审查不符合监督条件，已书面答复", "已立案审查，结果已告知")
PROSECUTORS = ("王磊", "李静", "张伟", "刘洋", "陈敏", "杨帆")


@dataclass
class LedgerDemo:
    letters_file: Path
    letters: int
    clues: int
    steps: int


def _pick(rng, pairs, n):
    names, p = zip(*pairs, strict=True)
    p = np.array(p, dtype=float)
    return rng.choice(np.array(names, dtype=object), size=n, p=p / p.sum())


def _office(t: dt.datetime, days: int, rng) -> dt.datetime:
    """`days` after `t`, at an office hour."""
    d = t.date() + dt.timedelta(days=days)
    return dt.datetime.combine(d, dt.time(int(rng.integers(9, 17)), int(rng.integers(0, 60))))


def write_letters(path: Path, *, n: int, districts: list[str], start: dt.date, end: dt.date, seed: int) -> int:
    """A seeded 12309 export of `n` letters received between start and end (replies dated up to `end`)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12309]))
    days = (end - start).days + 1
    got = np.sort(rng.integers(0, days, n))
    channels = _pick(rng, CHANNELS, n)
    cats = _pick(rng, CATEGORIES, n)
    dist = rng.choice(np.array(districts, dtype=object), size=n)
    end_ts = dt.datetime.combine(end, dt.time(23, 59))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(n):
            t = dt.datetime.combine(start + dt.timedelta(days=int(got[i])), dt.time(int(rng.integers(8, 18)),
                                                                                     int(rng.integers(0, 60))))
            u = rng.random()
            reply = _office(t, int(rng.integers(1, 7) if u < 0.97 else rng.integers(8, 21)), rng)
            v = rng.random()
            result = _office(t, int(rng.integers(15, 86) if v < 0.95 else rng.integers(92, 131)), rng)
            if rng.random() < 0.01:
                reply = None       # a letter nobody answered
            matter = str(rng.choice(np.array(MATTERS[cats[i]], dtype=object))).format(d=dist[i])
            name = SURNAMES[int(rng.integers(len(SURNAMES)))] + GIVEN[int(rng.integers(len(GIVEN)))]
            phone = f"1{int(rng.integers(30, 99))}{int(rng.integers(0, 10**8)):08d}"
            w.writerow([f"12309-{t:%Y%m%d}-{i + 1:05d}", f"{t:%Y-%m-%d %H:%M}", channels[i], matter, cats[i],
                        f"北京市{dist[i]}人民检察院", name, phone,
                        f"{reply:%Y-%m-%d %H:%M}" if reply is not None and reply <= end_ts else "",
                        f"{result:%Y-%m-%d %H:%M}" if result <= end_ts else "",
                        str(rng.choice(np.array(RESULTS, dtype=object))) if result <= end_ts else ""])
    return n


_RECENT_SQL = """
SELECT t.ticket_id, t.received_at, t.district, t.topic, t.address, t.lon, t.lat
FROM tickets t
WHERE t.topic IS NOT NULL AND t.received_at >= $since
  AND t.ticket_id NOT IN (SELECT ticket_id FROM clue_tickets)
ORDER BY t.district, t.topic, t.received_at, t.ticket_id
"""
_FUNCTION = {"欠薪": "民事", "假冒伪劣": "刑事", "两卡": "刑事", "未成年人保护": "刑事", "预付卡": "行政", "食品安全": "行政"}
_DEPARTMENT = {"刑事": "第二检察部", "民事": "第六检察部", "行政": "第七检察部", "公益诉讼": "第八检察部"}
_ITEM = {"井盖": ("更换、加固井盖", "个", 2, 20), "污水": ("截断污水直排", "吨", 50, 1500),
         "假冒伪劣": ("查扣假冒伪劣商品", "件", 20, 800), "欠薪": ("追回拖欠工资", "元", 30000, 600000),
         "消防通道": ("清理占用消防通道", "处", 1, 12), "养老消防": ("整改养老机构消防隐患", "处", 1, 8)}
_SUBJECT = {"井盖": "{d}城市管理委员会", "污水": "{d}水务局", "消防通道": "{d}消防救援支队", "养老消防": "{d}民政局",
            "欠薪": "{d}人力资源和社会保障局", "假冒伪劣": "{d}市场监督管理局"}


def work_clues(db_path: Path, *, seed: int, end: dt.date, max_clues: int = 40) -> tuple[int, int]:
    """Register clues in the app from recent project tickets no imported clue covers, and move them on.

    Returns (clues, steps). Skipped (0, 0) when the records store already holds clues registered in the app.
    """
    from data import ledger
    from data.ledger import letters

    rng = np.random.default_rng(np.random.SeedSequence([seed, 19]))
    con = store.connect(db_path, read_only=True)
    try:
        rows = con.execute(_RECENT_SQL, {"since": dt.datetime.combine(end - dt.timedelta(days=150), dt.time())}
                           ).fetchall()
    finally:
        con.close()
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r[2], r[3]), []).append(r)
    keys = [k for k, v in groups.items() if k[0] and len(v) >= 2]
    order = rng.permutation(len(keys))[:max_clues]
    n_clues = n_steps = 0
    with records.session(db_path) as rc:
        if rc.execute("SELECT count(*) FROM ledger_clues WHERE origin = 'app'").fetchone()[0]:
            return 0, 0
        lets = letters.current(rc, _city())
        pending_letters = lets[lets["category"] == "举报"].tail(8)
        for i, j in enumerate(order):
            district, topic = keys[int(j)]
            tk = groups[(district, topic)][:int(rng.integers(2, 7))]
            who = Actor(f"demo:{PROSECUTORS[i % len(PROSECUTORS)]}", "prosecutor")
            function = _FUNCTION.get(topic, "公益诉讼")
            first = max(t[1] for t in tk)
            reg = first + dt.timedelta(days=float(rng.uniform(1, 10)))
            if reg.date() > end:
                reg = dt.datetime.combine(end, dt.time(10))
            source, ref = ("rule", {"rule_key": f"{topic}-starter", "note": "演示：筛查规则命中"})
            if i % 7 == 3 and len(pending_letters):
                lid = str(pending_letters.iloc[i % len(pending_letters)]["letter_id"])
                source, ref = "12309", {"letter_id": lid}
            elif i % 9 == 5:
                source, ref = "liaison", {"liaison": f"{district}某街道检察联络点"}
            c = ledger.register_clue(
                rc, who, source=source, source_ref=ref, district=district, function=function,
                department=_DEPARTMENT[function], topic=topic, subject=_SUBJECT.get(topic, "{d}人民政府").format(d=district),
                place=tk[0][4], lon=tk[0][5], lat=tk[0][6], handler=who.name.split(":")[1],
                summary=f"{tk[0][4] or district}{topic}问题，关联12345工单{len(tk)}件", ticket_ids=[t[0] for t in tk],
                registered_at=reg)
            n_clues += 1
            n_steps += _advance(rc, who, c, rng, end)
    return n_clues, n_steps


def _city():
    from data.scope import CITY

    return CITY


def _advance(rc, who, c, rng, end: dt.date) -> int:
    """Move a clue on from its registration with dated steps, stopping at a random stage (and at `end`)."""
    from data import ledger

    at = c.created_at
    steps = 0
    depth = int(rng.choice([0, 1, 2, 3, 4, 5, 6], p=[0.12, 0.13, 0.2, 0.15, 0.15, 0.15, 0.1]))

    def nxt(lo: float, hi: float):
        nonlocal at
        t = at + dt.timedelta(days=float(rng.uniform(lo, hi)))
        if t.date() >= end:
            return None
        at = t
        return t

    if depth >= 1 and (t := nxt(1, 9)):
        outcome = "file" if rng.random() < 0.85 else ("not_file" if rng.random() < 0.5 else "transfer")
        d = {"outcome": outcome} | ({"transfer_to": "区市场监督管理局"} if outcome == "transfer" else {})
        c = ledger.record_stage(rc, who, c.clue_no, "decide", on=t, details=d)
        steps += 1
        if outcome != "file":
            return steps
        if rng.random() < 0.08:   # a correction with its reason
            ledger.correct_stage(rc, who, c.clue_no, "decide", on=t - dt.timedelta(days=1), reason="以集体讨论记录日期为准")
            at = t - dt.timedelta(days=1)
            steps += 1
    if depth >= 2 and c.outcome == "file" and (t := nxt(2, 14)):
        urgent = c.topic in ("井盖", "消防通道") and rng.random() < 0.5
        c = ledger.record_stage(rc, who, c.clue_no, "suggest", on=t, details={
            "kind": "pre_litigation" if c.function == "公益诉讼" else "social_governance", "urgent": urgent,
            "addressee": c.subject})
        steps += 1
    if depth >= 3 and "suggest" in c.stages and (t := nxt(3, 70 if rng.random() < 0.85 else 90)):
        c = ledger.record_stage(rc, who, c.clue_no, "reply", on=t, note="被建议单位书面回复")
        steps += 1
    if depth >= 4 and c.outcome == "file" and (t := nxt(3, 25)):
        item, unit, lo, hi = _ITEM.get(c.topic, ("督促整改公益损害问题", "处", 1, 6))
        value = float(round(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
        c = ledger.record_stage(rc, who, c.clue_no, "rectify", on=t, details={"result": "整改到位" if rng.random() < 0.85
                                                                              else "部分整改"},
                                outcomes=[(item, value, unit)])
        steps += 1
    if depth >= 5 and "rectify" in c.stages and (t := nxt(40, 70)):
        c = ledger.record_stage(rc, who, c.clue_no, "follow_up", on=t, note="现场回头看，整改到位未反弹")
        steps += 1
    if depth >= 6 and c.outcome is not None and (t := nxt(1, 10)):
        ledger.record_stage(rc, who, c.clue_no, "close", on=t)
        steps += 1
    return steps


def populate(db_path: str | Path, *, seed: int, end: dt.date, start: dt.date, tickets: int,
             out_dir: Path) -> LedgerDemo:
    """Write and import the demo's 12309 letters, then work clues in the app (both skipped if done before)."""
    from data.ledger import letters

    db = Path(db_path)
    con = store.connect(db, read_only=True)
    try:
        districts = [r[0] for r in con.execute("SELECT district FROM districts ORDER BY district").fetchall()]
    finally:
        con.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LETTERS_FILE
    n = int(min(20_000, max(200, tickets // 120)))
    write_letters(path, n=n, districts=districts, start=max(start, end - dt.timedelta(days=730)), end=end, seed=seed)
    actor = Actor("demo:12309检察服务中心", "clue_admin")
    with records.session(db) as rc:
        done = rc.execute("SELECT count(*) FROM letter_imports WHERE file = ? AND status = 'ok'",
                          (LETTERS_FILE,)).fetchone()[0]
        if not done:
            letters.import_file(rc, actor, path)
    clues, steps = work_clues(db, seed=seed, end=end)
    return LedgerDemo(path, n, clues, steps)
