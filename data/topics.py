"""Which special supervision project (专项) a ticket belongs to, from editable rules.

Prosecutors run "small special projects" (manhole covers, sewage, unpaid
wages, …) and screen the hotline for each. The rules live in a YAML file the
users can read and change (setting HOTLINE_TOPIC_RULES, default
data/topics.yaml, which documents the rule itself). The import evaluates them
in DuckDB SQL over whole chunks: one regular expression pre-selects the tickets
that mention any signal at all, and only those are scored per topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from data import settings


@dataclass(frozen=True)
class Topic:
    name: str
    categories: tuple[str, ...]
    words: tuple[str, ...]
    strong: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    topics: tuple[Topic, ...]
    min_words: int = 2

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.topics]


class TopicRulesError(ValueError):
    """The rules file is invalid; the message is in Chinese for the user."""


def load(path: str | Path | None = None) -> Rules:
    """The rules from `path` (default: the HOTLINE_TOPIC_RULES setting)."""
    p = Path(path) if path is not None else settings.path("HOTLINE_TOPIC_RULES")
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise TopicRulesError(f"专项规则文件不存在：{p}") from exc
    except yaml.YAMLError as exc:
        raise TopicRulesError(f"专项规则文件 {p} 不是有效的 YAML：{exc}") from exc
    return parse(spec, source=str(p))


def parse(spec: dict, *, source: str = "rules") -> Rules:
    if not isinstance(spec, dict) or not isinstance(spec.get("topics"), dict):
        raise TopicRulesError(f"专项规则文件 {source} 必须包含 topics: 映射")
    topics = []
    for name, t in spec["topics"].items():
        t = t or {}
        if not isinstance(t, dict):
            raise TopicRulesError(f"专项规则 {name} 必须是包含 categories / words / strong 的映射")
        unknown = set(t) - {"categories", "words", "strong"}
        if unknown:
            raise TopicRulesError(f"专项规则 {name} 中有未知的键：{', '.join(sorted(unknown))}")
        topics.append(Topic(
            str(name),
            tuple(str(c) for c in t.get("categories") or ()),
            tuple(dict.fromkeys(str(w) for w in t.get("words") or ())),
            tuple(str(s) for s in t.get("strong") or ()),
        ))
    min_words = int(spec.get("min_words", 2))
    if min_words < 1:
        raise TopicRulesError("min_words 至少为 1")
    return Rules(tuple(topics), min_words)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def topic_sql(rules: Rules, *, content: str = "content", l2: str = "category_l2", l3: str = "category_l3",
              prefix: str = "tp") -> tuple[str, dict]:
    """A SQL expression giving the topic of a row (NULL if none), and its named parameters.

    Column names are identifiers chosen by the caller (never user input).
    """
    params: dict = {}
    signal_words = [w for t in rules.topics for w in (*t.words, *t.strong)]
    all_cats = sorted({c for t in rules.topics for c in t.categories})
    if not rules.topics:
        return "CAST(NULL AS VARCHAR)", params
    params[f"{prefix}_any"] = _alternation(signal_words) if signal_words else "$^"
    params[f"{prefix}_cats"] = all_cats
    scores = []
    for i, t in enumerate(rules.topics):
        parts = []
        if t.categories:
            params[f"{prefix}_c{i}"] = list(t.categories)
            parts.append(f"(CASE WHEN list_contains(${prefix}_c{i}, {l3}) OR list_contains(${prefix}_c{i}, {l2}) "
                         f"THEN 10000 ELSE 0 END)")
        if t.strong:
            params[f"{prefix}_s{i}"] = _alternation(t.strong)
            parts.append(f"(CASE WHEN regexp_matches({content}, ${prefix}_s{i}) THEN 1000 ELSE 0 END)")
        for j, w in enumerate(t.words):
            params[f"{prefix}_w{i}_{j}"] = w
            parts.append(f"CAST(contains({content}, ${prefix}_w{i}_{j}) AS INTEGER)")
        # the topic's rank breaks ties in favour of the topic listed first
        scores.append(f"(({' + '.join(parts) or '0'}) * 100 + {len(rules.topics) - i})")
    ranked = ", ".join(f"{s}" for s in scores)
    params[f"{prefix}_names"] = rules.names
    # best = the highest score; it qualifies when above min_words distinct words
    threshold = rules.min_words * 100
    best = f"list_max([{ranked}])"
    pick = f"${prefix}_names[{len(rules.topics) + 1} - (({best}) % 100)]"
    expr = (
        f"(CASE WHEN (regexp_matches(coalesce({content}, ''), ${prefix}_any) "
        f"OR list_contains(${prefix}_cats, {l3}) OR list_contains(${prefix}_cats, {l2})) "
        f"THEN (CASE WHEN ({best}) >= {threshold} THEN {pick} END) END)"
    )
    return expr, params
