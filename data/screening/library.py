"""The rules kept in the records store: every version, which are active, import and export of rule files.

Saving a rule whose definition changed makes a new version (1, 2, 3, ...); nothing is overwritten, and each
hit names the version that found it. Active rules run after every import. The starter library ships as files
per region (`data/rules/<region>/*.yaml`; HOTLINE_RULES_REGION picks the region) and is imported like any
other rule file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data import audit, records, settings
from data.screening.rule import Rule, RuleError, loads, parse

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


@dataclass(frozen=True)
class Stored:
    """A rule as stored: its id, latest version, whether it is active."""

    rule_id: int
    key: str
    version: int
    rule: Rule
    active: bool
    created_at: str
    created_by: str


def starter_dir(region: str | None = None) -> Path:
    """The folder of the starter library of `region` (default HOTLINE_RULES_REGION)."""
    region = region or str(settings.get("HOTLINE_RULES_REGION"))
    d = RULES_DIR / region
    if not d.is_dir():
        have = sorted(p.name for p in RULES_DIR.iterdir() if p.is_dir())
        raise RuleError(f"没有地区“{region}”的规则库；现有：{'、'.join(have)}。")
    return d


def read_files(path: str | Path) -> list[Rule]:
    """The rules of a file (.yaml/.yml/.json) or of every such file in a folder (checked; RuleError)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".yaml", ".yml", ".json"))
        if not files:
            raise RuleError(f"文件夹 {p} 中没有规则文件（.yaml/.yml/.json）。")
    elif p.exists():
        files = [p]
    else:
        raise RuleError(f"规则文件不存在：{p}")
    rules: list[Rule] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RuleError(f"规则文件 {f.name} 不是 UTF-8 文本。") from exc
        rules += loads(text, f"规则文件 {f.name} ")
    keys = [r.key for r in rules]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise RuleError(f"{p} 中规则编号重复：{'、'.join(dup)}")
    return rules


def save(con: sqlite3.Connection, actor, rule: Rule, note: str = "", *, activate: bool | None = None) -> Stored:
    """Store `rule`: a new rule, or a new version when its definition changed (the same one otherwise).

    `activate` True/False also records the rule's state; None leaves it (a new rule starts active).
    """
    definition = json.dumps(rule.to_dict(), ensure_ascii=False, sort_keys=True)
    who = _who(actor)
    with records.transaction(con):
        row = con.execute("SELECT rule_id FROM screening_rules WHERE key = ?", (rule.key,)).fetchone()
        now = records.now_text()
        if row is None:
            cur = con.execute("INSERT INTO screening_rules (key, created_at, created_by) VALUES (?, ?, ?)",
                              (rule.key, now, who))
            rule_id, last, changed = cur.lastrowid, None, True
            if activate is None:
                activate = True
        else:
            rule_id = row[0]
            last = con.execute("SELECT version, definition FROM screening_rule_versions WHERE rule_id = ? "
                               "ORDER BY version DESC LIMIT 1", (rule_id,)).fetchone()
            changed = last is None or last["definition"] != definition
        version = (last["version"] if last else 0) + (1 if changed else 0)
        if changed:
            con.execute("INSERT INTO screening_rule_versions (rule_id, version, name, project, function, region, "
                        "definition, note, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (rule_id, version, rule.name, rule.project, rule.function, rule.region, definition,
                         note, now, who))
            audit.record(actor, "rule_change", rule.key, {"version": version, "name": rule.name, "note": note},
                         con=con)
        if activate is not None and activate != _active(con, rule_id):
            _set_state(con, actor, rule_id, activate, note)
    return get(con, rule.key)


def set_active(con: sqlite3.Connection, actor, key: str, active: bool, reason: str = "") -> Stored:
    s = get(con, key)
    if s is None:
        raise RuleError(f"没有编号为 {key} 的规则。")
    with records.transaction(con):
        if active != s.active:
            _set_state(con, actor, s.rule_id, active, reason)
    return get(con, key)


def _set_state(con, actor, rule_id: int, active: bool, reason: str) -> None:
    con.execute("INSERT INTO screening_rule_states (rule_id, active, reason, at, actor) VALUES (?, ?, ?, ?, ?)",
                (rule_id, int(active), reason, records.now_text(), _who(actor)))
    key = con.execute("SELECT key FROM screening_rules WHERE rule_id = ?", (rule_id,)).fetchone()[0]
    audit.record(actor, "rule_change", key, {"active": active, "reason": reason}, con=con)


def _active(con, rule_id: int) -> bool:
    row = con.execute("SELECT active FROM screening_rule_states WHERE rule_id = ? ORDER BY state_id DESC LIMIT 1",
                      (rule_id,)).fetchone()
    return bool(row[0]) if row else False


def get(con: sqlite3.Connection, key: str, version: int | None = None) -> Stored | None:
    """The rule `key` at its latest version (or at `version`); None when unknown."""
    row = con.execute("SELECT rule_id, created_at, created_by FROM screening_rules WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    return _stored(con, row["rule_id"], key, version, row["created_at"], row["created_by"])


def by_id(con: sqlite3.Connection, rule_id: int, version: int | None = None) -> Stored | None:
    row = con.execute("SELECT key, created_at, created_by FROM screening_rules WHERE rule_id = ?",
                      (rule_id,)).fetchone()
    return None if row is None else _stored(con, rule_id, row["key"], version, row["created_at"], row["created_by"])


def _stored(con, rule_id: int, key: str, version, created_at, created_by) -> Stored | None:
    sql = "SELECT version, definition FROM screening_rule_versions WHERE rule_id = ?"
    args: tuple = (rule_id,)
    if version is not None:
        sql += " AND version = ?"
        args += (int(version),)
    v = con.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
    if v is None:
        return None
    return Stored(rule_id, key, v["version"], parse(json.loads(v["definition"]), f"规则 {key}"),
                  _active(con, rule_id), created_at, created_by)


def all_rules(con: sqlite3.Connection, *, active_only: bool = False) -> list[Stored]:
    keys = [r[0] for r in con.execute("SELECT key FROM screening_rules ORDER BY key")]
    out = [get(con, k) for k in keys]
    return [s for s in out if s is not None and (s.active or not active_only)]


def table(con: sqlite3.Connection) -> pd.DataFrame:
    """One row per rule: key, name, project, function, region, version, active, last changed, by whom."""
    rows = con.execute("""
        SELECT r.key, v.name, v.project, v.function, v.region, v.version, v.created_at AS changed_at,
               v.created_by AS changed_by,
               coalesce((SELECT s.active FROM screening_rule_states s WHERE s.rule_id = r.rule_id
                         ORDER BY s.state_id DESC LIMIT 1), 0) AS active
        FROM screening_rules r
        JOIN screening_rule_versions v ON v.rule_id = r.rule_id
        WHERE v.version = (SELECT max(version) FROM screening_rule_versions x WHERE x.rule_id = r.rule_id)
        ORDER BY r.key""").fetchall()
    cols = ["key", "name", "project", "function", "region", "version", "changed_at", "changed_by", "active"]
    df = pd.DataFrame([tuple(r) for r in rows], columns=cols)
    df["active"] = df["active"].astype(bool)
    return df


def versions(con: sqlite3.Connection, key: str) -> pd.DataFrame:
    rows = con.execute("""
        SELECT v.version, v.name, v.note, v.created_at, v.created_by, v.definition
        FROM screening_rule_versions v JOIN screening_rules r USING (rule_id)
        WHERE r.key = ? ORDER BY v.version DESC""", (key,)).fetchall()
    return pd.DataFrame([tuple(r) for r in rows],
                        columns=["version", "name", "note", "created_at", "created_by", "definition"])


def import_rules(con: sqlite3.Connection, actor, rules: list[Rule], note: str = "导入规则文件",
                 *, activate: bool | None = None) -> list[Stored]:
    """Store each rule (a new version where it changed); checks layers name a known rule first."""
    known = {r[0] for r in con.execute("SELECT key FROM screening_rules")} | {r.key for r in rules}
    for r in rules:
        if r.layer_of and r.layer_of not in known:
            raise RuleError(f"规则 {r.key} 的上层规则 {r.layer_of} 不存在。")
    return [save(con, actor, r, note, activate=activate) for r in rules]


def install_starter(con: sqlite3.Connection, actor, region: str | None = None) -> list[Stored]:
    """Import the region's starter library (active); rules already there keep their history."""
    return import_rules(con, actor, read_files(starter_dir(region)), "导入示例规则库", activate=True)


def export_text(con: sqlite3.Connection, keys: list[str] | None = None, fmt: str = "yaml") -> str:
    """The rules (latest versions; all when keys is None) as one YAML or JSON file that `read_files` reads."""
    stored = [get(con, k) for k in keys] if keys else all_rules(con)
    missing = [k for k, s in zip(keys or [], stored, strict=False) if s is None]
    if missing:
        raise RuleError(f"没有这些规则：{'、'.join(missing)}")
    data = {"rules": [s.rule.to_dict() for s in stored if s is not None]}
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    import yaml

    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _who(actor) -> str:
    return getattr(actor, "name", None) or str(actor)
