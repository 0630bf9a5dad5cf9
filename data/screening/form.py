"""The rule form's values <-> a rule: what the 规则 page's widgets hold, turned into a checked Rule and back.

Lists are typed as words separated by commas, 、 or spaces; synonyms as lines `词：同义词1、同义词2`. An empty
field is no condition. Errors come from `rule.parse` (RuleError with the field named).
"""

from __future__ import annotations

import re

from data.screening.rule import Rule, parse

LIST_FIELDS = ("categories", "topics", "districts", "streets", "channels", "appeal_types", "statuses",
               "satisfaction")


def words(text) -> list[str]:
    if isinstance(text, list | tuple):
        return [str(x).strip() for x in text if str(x).strip()]
    return [w for w in re.split(r"[,，、;；\s]+", str(text or "")) if w]


def synonyms_text(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in str(text or "").splitlines():
        if not line.strip():
            continue
        parts = re.split(r"[:：=]", line, maxsplit=1)
        if len(parts) == 2 and parts[0].strip() and words(parts[1]):
            out[parts[0].strip()] = words(parts[1])
    return out


def to_rule(v: dict) -> Rule:
    """A checked rule from the form's values (keys as in `from_rule`)."""
    cond: dict = {f: words(v.get(f)) for f in LIST_FIELDS if words(v.get(f))}
    kw = {k: words(v.get(f"kw_{k}")) for k in ("all", "any", "none") if words(v.get(f"kw_{k}"))}
    syn = synonyms_text(v.get("kw_synonyms", ""))
    if syn:
        kw["synonyms"] = syn
    if kw:
        cond["keywords"] = kw
    if v.get("near_on"):
        cond["near"] = {"lon": v.get("near_lon"), "lat": v.get("near_lat"), "radius_m": v.get("near_radius")}
    if v.get("resolved") in (True, False):
        cond["resolved"] = v["resolved"]
    dates = {k: str(v[f"date_{k}"]) for k in ("from", "to") if v.get(f"date_{k}")}
    if dates:
        cond["dates"] = dates
    if v.get("last_days"):
        cond["last_days"] = int(v["last_days"])
    if v.get("repeat_on"):
        cond["repeat"] = {"min_tickets": int(v.get("repeat_n") or 0), "radius_m": v.get("repeat_radius"),
                          "days": int(v.get("repeat_days") or 0)}
    if v.get("after_on"):
        cond["after_close"] = {"min_days": int(v.get("after_min") or 0), "max_days": int(v.get("after_max") or 0),
                               "radius_m": v.get("after_radius")}
    top = {k: v.get(k) for k in ("key", "name", "region", "owner", "project", "function", "legal_basis", "background",
                                 "layer_of", "group_by") if v.get(k)}
    return parse({**top, "conditions": cond}, "规则")


def from_rule(r: Rule | None) -> dict:
    """The form's values for `r` (defaults for a new rule)."""
    v: dict = {"key": "", "name": "", "region": "", "owner": "", "project": "", "function": "", "legal_basis": "",
               "background": "", "layer_of": "", "group_by": "place", "kw_all": "", "kw_any": "", "kw_none": "",
               "kw_synonyms": "", "near_on": False, "near_lon": 116.40, "near_lat": 39.90, "near_radius": 500.0,
               "resolved": None, "date_from": None, "date_to": None, "last_days": 0, "repeat_on": False,
               "repeat_n": 3, "repeat_radius": 150.0, "repeat_days": 30, "after_on": False, "after_min": 7,
               "after_max": 90, "after_radius": 50.0, **{f: [] for f in LIST_FIELDS}}
    if r is None:
        return v
    c = r.conditions
    v.update({k: getattr(r, k) for k in ("key", "name", "region", "owner", "project", "function", "legal_basis",
                                         "background", "layer_of", "group_by")})
    v.update({f: list(getattr(c, f)) for f in LIST_FIELDS})
    v.update({"kw_all": "、".join(c.keywords.all), "kw_any": "、".join(c.keywords.any),
              "kw_none": "、".join(c.keywords.none),
              "kw_synonyms": "\n".join(f"{w}：{'、'.join(alts)}" for w, alts in c.keywords.synonyms.items()),
              "resolved": c.resolved, "date_from": c.date_from, "date_to": c.date_to, "last_days": c.last_days or 0})
    if c.near:
        v.update({"near_on": True, "near_lon": c.near.lon, "near_lat": c.near.lat, "near_radius": c.near.radius_m})
    if c.repeat:
        v.update({"repeat_on": True, "repeat_n": c.repeat.min_tickets, "repeat_radius": c.repeat.radius_m,
                  "repeat_days": c.repeat.days})
    if c.after_close:
        v.update({"after_on": True, "after_min": c.after_close.min_days, "after_max": c.after_close.max_days,
                  "after_radius": c.after_close.radius_m})
    return v
