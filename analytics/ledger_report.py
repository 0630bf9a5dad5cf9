"""The monthly clue report (线索月报), the clue administrator's: what came in, what was decided, how fast, what
was fixed, and whether deadlines were kept, for one month and optionally one district.

Definitions (docs/ledger.md, "Monthly report"), all from the ledger sheet (analytics/ledger.py), both kinds
of clue:
- 登记: clues registered in the month, by source, procuratorial function, special project and district;
- 审查结果 and 成案率: clues whose review decision falls in the month; 成案率 = filed (立案) / decided;
  by source and by screening rule (clues registered from a rule's hits: its id, version and name);
- 案源结构比: of the cases filed in the month, the share whose clue the procuratorate found itself
  (a screening rule, or the hotline's own clues in the case system: model.SELF_FOUND);
- 环节用时: median days of each step completed in the month, from the step before it;
- 期限执行: deadlines whose due day falls in the month, judged on the report day (the month's last day, or
  today for the current month): on time, late, overdue; compliance = on time / all of them;
- 整改成效: counted results of the rectifications recorded in the month, summed by item and unit;
- 12309: letters received in the month and the procedural-reply and result deadlines due in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from analytics import ledger as lsheet
from data.ledger import deadlines as due
from data.ledger.deadlines import month_bounds
from data.ledger.model import SELF_FOUND

TITLE = "线索月报"


@dataclass
class Section:
    key: str
    title: str
    table: pd.DataFrame
    note: str = ""


@dataclass
class Report:
    month: str                     # YYYY-MM
    district: str | None
    as_of: date
    headline: dict
    sections: list[Section] = field(default_factory=list)
    scope: str | None = None       # the reader's districts when not the whole city (e.g. "朝阳区")

    @property
    def scope_label(self) -> str:
        return self.district or self.scope or "全市"

    @property
    def title(self) -> str:
        return f"{self.scope_label}{self.month[:4]}年{int(self.month[5:])}月{TITLE}"

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def _in(col: str) -> str:
    return f"({col} >= $m_from::TIMESTAMP AND {col} < ($m_to::DATE + INTERVAL 1 DAY))"


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def build(con, month: str, *, district: str | None = None, today: date | None = None,
          rule_names: dict | None = None, letters: pd.DataFrame | None = None, scope=None) -> Report:
    """The report of `month` ('YYYY-MM') from a cursor with the ledger laid over (within its scope; `district`
    narrows further). `rule_names`: {(rule_id, version): name} of screening rules; `letters`: the month's 12309
    figures (data/ledger/letters.month_figures) or None; `scope`: the cursor's data.scope.Scope, named in the
    title when it is not the whole city."""
    first, last = month_bounds(month)
    today = today or date.today()
    as_of = min(last, today)
    lf = lsheet.LedgerFilters(districts=(district,) if district else ())
    s = lsheet.sheet(con, lf, as_of=as_of)
    s = s.assign(source_label=s["source_label"].fillna("（未填）"), function=s["function"].fillna("（未填）"),
                 topic=s["topic"].fillna("（无专项）"), district=s["district"].fillna("（未填）"))
    p = pd.Timestamp(first), pd.Timestamp(last) + pd.Timedelta(days=1)

    def within(col: str) -> pd.Series:
        v = pd.to_datetime(s[col])
        return (v >= p[0]) & (v < p[1])

    reg = s[within("registered_at")]
    dec = s[within("decided_at") & s["outcome"].notna()]
    filed = dec[dec["outcome"] == "file"]
    rep = Report(month=first.strftime("%Y-%m"), district=district, as_of=as_of, headline={},
                 scope="、".join(scope.districts) if scope is not None and scope.districts is not None else None)
    rect_in = s[within("rectified_at")]
    rep.headline = {
        "registered": len(reg), "registered_app": int((reg["origin"] == "app").sum()),
        "decided": len(dec), "filed": len(filed), "not_filed": int((dec["outcome"] == "not_file").sum()),
        "transferred": int((dec["outcome"] == "transfer").sum()),
        "suggested": int(within("suggested_at").sum()), "replied": int(within("replied_at").sum()),
        "rectified": int((rect_in["result"].fillna("") != "未整改").sum()),
        "followed_up": int(within("followed_up_at").sum()), "closed": int(within("closed_at").sum()),
        "case_rate": _rate(len(filed), len(dec)),
        "self_found": _rate(int(filed["source"].isin(SELF_FOUND).sum()), len(filed)),
        "open": int(((pd.to_datetime(s["registered_at"]) < p[1]) & s["closed_at"].isna()).sum()),
        "overdue_now": int((s["due_state"] == "overdue").sum()),
    }
    by = [("source", "按线索来源", "source_label"), ("function", "按检察职能", "function"),
          ("topic", "按专项", "topic"), ("district", "按区", "district")]
    for key, title, col in by:
        rep.sections.append(Section(key, f"登记与成案（{title[1:]}）", _by(reg, dec, col, title[1:])))
    rep.sections.append(Section("result", "审查结果", _results(dec),
                                "本月作出审查决定的线索；成案率 = 立案 ÷ 作出决定的线索。"))
    rep.sections.append(Section("rules", "成案率（按筛查规则）", _rules(reg, dec, rule_names or {}),
                                "来源为筛查规则的线索，按登记时的规则（编号，或无编号时的规则标识）及其版本。"))
    rep.sections.append(Section("structure", "案源结构", _structure(filed),
                                "本月立案的线索中，检察机关自行发现（筛查规则、12345热线筛查）与其他来源的占比。"))
    rep.sections.append(Section("durations", "环节用时（本月完成的环节）", _durations(s, within)))
    items = lsheet.deadline_items(con, lf, as_of, due_from=first, due_to=last)
    rep.sections.append(Section("deadlines", "期限执行（到期日在本月的期限）", _deadlines(items),
                                f"按期率 = 按期 ÷ 全部；逾期未办按报告日 {as_of:%Y-%m-%d} 判断。"
                                "期限按日历日计算，末日为周六、周日的顺延至下周一。"))
    results = lsheet.rectification_results(con, first, last, (district,) if district else ())
    rep.sections.append(Section("outcomes", "整改成效（本月整改，合计）", results.rename(columns={
        "item": "成效项目", "unit": "单位", "cases": "案件数", "value": "数量合计"}),
        "整改结果为“未整改”的不计入。"))
    if letters is not None:
        rep.sections.append(Section("letters", "12309信访", letters,
                                    f"程序性回复期限 {due.days_of('letter_reply')} 日，办理结果答复期限 "
                                    f"{due.days_of('letter_result')} 日。"))
    return rep


def _by(reg: pd.DataFrame, dec: pd.DataFrame, col: str, name: str) -> pd.DataFrame:
    a = reg.groupby(col).size().rename("登记")
    b = dec.groupby(col).size().rename("作出决定")
    c = dec[dec["outcome"] == "file"].groupby(col).size().rename("立案")
    out = pd.concat([a, b, c], axis=1).fillna(0).astype("int64")
    out["成案率"] = (out["立案"] / out["作出决定"].where(out["作出决定"] > 0)).astype("Float64")
    out = out.sort_values(["登记", "作出决定"], ascending=False).reset_index().rename(columns={col: name, "index": name})
    total = pd.DataFrame([{name: "合计", "登记": int(out["登记"].sum()), "作出决定": int(out["作出决定"].sum()),
                           "立案": int(out["立案"].sum())}])
    total["成案率"] = pd.array([_rate(int(total["立案"][0]), int(total["作出决定"][0]))], dtype="Float64")
    return pd.concat([out, total], ignore_index=True)


def _results(dec: pd.DataFrame) -> pd.DataFrame:
    labels = {"file": "立案", "not_file": "不立案", "transfer": "移送"}
    n = dec["outcome"].value_counts()
    rows = [{"审查结果": lab, "线索数": int(n.get(k, 0))} for k, lab in labels.items()]
    total = sum(r["线索数"] for r in rows)
    for r in rows:
        r["占比"] = _rate(r["线索数"], total)
    rows.append({"审查结果": "合计", "线索数": total, "占比": 1.0 if total else None})
    out = pd.DataFrame(rows)
    out["占比"] = out["占比"].astype("Float64")
    return out


def _rule_key(ref) -> tuple | None:
    try:
        d = json.loads(ref) if isinstance(ref, str) else (ref or {})
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    rule = d.get("rule_id") if d.get("rule_id") not in (None, "") else d.get("rule_key")
    if rule in (None, ""):
        return None
    return (str(rule), str(d.get("rule_version") or ""))


def _rules(reg: pd.DataFrame, dec: pd.DataFrame, names: dict) -> pd.DataFrame:
    cols = ["规则", "版本", "规则名称", "登记", "作出决定", "立案", "成案率"]
    rows: dict[tuple, dict] = {}
    for frame, field_name in ((reg, "登记"), (dec, "作出决定"), (dec[dec["outcome"] == "file"], "立案")):
        for ref in frame.loc[frame["source"] == "rule", "source_ref"] if "source_ref" in frame else []:
            k = _rule_key(ref)
            if k is None:
                continue
            r = rows.setdefault(k, {"规则": k[0], "版本": k[1] or "—", "规则名称": names.get(k, names.get(k[0], "—")),
                                    "登记": 0, "作出决定": 0, "立案": 0})
            r[field_name] += 1
    out = pd.DataFrame(list(rows.values()), columns=cols[:-1])
    out["成案率"] = (out["立案"] / out["作出决定"].where(out["作出决定"] > 0)).astype("Float64") if len(out) else \
        pd.array([], dtype="Float64")
    return out.sort_values(["登记", "规则"], ascending=[False, True]).reset_index(drop=True)[cols]


def _structure(filed: pd.DataFrame) -> pd.DataFrame:
    own = int(filed["source"].isin(SELF_FOUND).sum())
    rows = [{"案源": "自行发现（筛查规则、12345热线）", "立案": own},
            {"案源": "其他来源（12309、联络点、移送、来信等）", "立案": len(filed) - own}]
    out = pd.DataFrame(rows)
    out["占比"] = pd.array([_rate(r["立案"], len(filed)) for r in rows], dtype="Float64")
    return out


STEPS = (
    ("登记→审查决定", "registered_at", "decided_at"),
    ("审查决定→检察建议", "decided_at", "suggested_at"),
    ("检察建议→回复", "suggested_at", "replied_at"),
    ("立案→整改", "decided_at", "rectified_at"),
    ("整改→回头看", "rectified_at", "followed_up_at"),
    ("登记→结案", "registered_at", "closed_at"),
)


def _durations(s: pd.DataFrame, within) -> pd.DataFrame:
    rows = []
    for label, a, b in STEPS:
        done = s[within(b) & s[a].notna()]
        if label == "立案→整改":
            done = done[done["outcome"] == "file"]
        days = (pd.to_datetime(done[b]) - pd.to_datetime(done[a])).dt.total_seconds() / 86400
        rows.append({"环节": label, "件数": int(days.count()),
                     "中位数（天）": float(days.median()) if days.count() else None})
    out = pd.DataFrame(rows)
    out["中位数（天）"] = out["中位数（天）"].astype("Float64")
    return out


def _deadlines(items: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for rule, (label, _setting) in due.RULES.items():
        if rule.startswith("letter_"):
            continue
        st = items.loc[items["rule"] == rule, "state"].value_counts()
        on, late, over = (int(st.get(k, 0)) for k in ("on_time", "late", "overdue"))
        rows.append({"期限": label, "天数": due.days_of(rule), "到期件数": int(st.sum()), "按期": on, "超期办结": late,
                     "逾期未办": over, "未到期": int(st.sum()) - on - late - over,
                     "按期率": _rate(on, on + late + over)})
    out = pd.DataFrame(rows)
    out["按期率"] = out["按期率"].astype("Float64")
    return out
