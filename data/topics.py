"""Which special supervision project (专项) a ticket belongs to, from editable rules.

Prosecutors run "small special projects" (manhole covers, sewage, unpaid
wages, …) and screen the hotline for each. The rules live in a YAML file the
users can read and change (setting HOTLINE_TOPIC_RULES, default
data/topics.yaml, which documents the rule itself). The import evaluates them
in DuckDB SQL over whole chunks: one regular expression finds every signal in a
text in one pass, a join counts the distinct signals per topic, and the
category part of the rule is a join on the category names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import yaml

from data import settings


@dataclass(frozen=True)
class Topic:
    name: str
    categories: tuple[str, ...]
    words: tuple[str, ...]
    strong: tuple[str, ...]
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    topics: tuple[Topic, ...]
    min_words: int = 2
    # A region pack's default rules tag only the tickets placed in the region (a district of it, or a point
    # inside it); rules the user chose (a path, HOTLINE_TOPIC_RULES) tag every ticket.
    regional: bool = False

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.topics]


class TopicRulesError(ValueError):
    """The rules file is invalid; the message is in Chinese for the user."""


def load(path: str | Path | None = None) -> Rules:
    """The rules from `path` (default: the HOTLINE_TOPIC_RULES setting, else the active region pack's rules;
    a pack without rules tags no ticket: another region's projects never apply unless chosen). A pack's rules
    are `regional`: the import applies them only to tickets placed in the region (data/ingest/statements.py)."""
    if path is not None:
        p = Path(path)
    elif str(settings.get("HOTLINE_TOPIC_RULES")).strip():
        p = settings.path("HOTLINE_TOPIC_RULES")
    else:
        from geo import regions

        r = regions.active()
        p = r.path(r.topics_file)
        if p is None:
            return Rules((), 2)
        return replace(_read(p), regional=True)
    return _read(p)


def _read(p: Path) -> Rules:
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
        unknown = set(t) - {"categories", "words", "context", "strong"}
        if unknown:
            raise TopicRulesError(f"专项规则 {name} 中有未知的键：{', '.join(sorted(unknown))}")
        topics.append(Topic(
            str(name),
            tuple(str(c) for c in t.get("categories") or ()),
            tuple(dict.fromkeys(str(w) for w in t.get("words") or ())),
            tuple(str(s) for s in t.get("strong") or ()),
            tuple(dict.fromkeys(str(w) for w in t.get("context") or ())),
        ))
    min_words = int(spec.get("min_words", 2))
    if min_words < 1:
        raise TopicRulesError("min_words 至少为 1")
    return Rules(tuple(topics), min_words)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def vocabulary(rules: Rules) -> tuple[str, pa.Table, pa.Table]:
    """What the SQL needs: one regex of every signal, token -> (topic, word) rows, category -> topic rows.

    The regex finds the longest signal at each place (one pass over the text). A
    token found also counts the shorter signals inside it ("消防通道" counts
    消防 for 养老消防 too), so matching in one pass loses nothing.
    """
    signals = sorted({w for t in rules.topics for w in (*t.words, *t.context, *t.strong)}, key=len, reverse=True)
    rows = {"token": [], "topic": [], "word": [], "is_word": [], "is_context": [], "is_strong": [], "rank": []}
    n = len(rules.topics)
    for token in signals:
        for i, t in enumerate(rules.topics):
            for w in sorted({*t.words, *t.context, *t.strong}):
                if w in token:
                    rows["token"].append(token)
                    rows["topic"].append(t.name)
                    rows["word"].append(w)
                    rows["is_word"].append(w in t.words)
                    rows["is_context"].append(w in t.context and w not in t.words)
                    rows["is_strong"].append(w in t.strong)
                    rows["rank"].append(n - i)
    cats = {"category": [], "cat_topic": [], "cat_rank": []}
    for i, t in enumerate(rules.topics):
        for c in t.categories:
            if c not in cats["category"]:
                cats["category"].append(c)
                cats["cat_topic"].append(t.name)
                cats["cat_rank"].append(n - i)
    pattern = _alternation(signals) if signals else "$^"
    return pattern, pa.table(rows), pa.table(cats, schema=pa.schema(
        [("category", pa.string()), ("cat_topic", pa.string()), ("cat_rank", pa.int64())]))


# Rows are grouped by the set of signals they contain (few distinct sets even in millions of
# tickets), and only the distinct sets are scored.
HITS_SQL = """
CREATE OR REPLACE TEMP TABLE {out} AS
WITH r AS (
    SELECT {row} AS _row,
           array_to_string(list_sort(list_distinct(regexp_extract_all({content}, $tp_pattern))), chr(31)) AS k
    FROM {table} WHERE ({only}) AND regexp_matches({content}, $tp_pattern)
), m AS (
    SELECT k, unnest(string_split(k, chr(31))) AS token FROM (SELECT DISTINCT k FROM r)
), s AS (
    SELECT m.k, v.topic, any_value(v.rank) AS rank,
           count(DISTINCT v.word) FILTER (WHERE v.is_word) AS n_words,
           count(DISTINCT v.word) FILTER (WHERE v.is_context) AS n_context, bool_or(v.is_strong) AS strong
    FROM m JOIN _topic_vocab v ON v.token = m.token
    GROUP BY m.k, v.topic
), best AS (
    SELECT k, arg_max(topic, ((CASE WHEN strong THEN 1000 ELSE 0 END) + n_words + n_context) * 100 + rank)
           AS word_topic
    FROM s WHERE strong OR (n_words >= 1 AND n_words + n_context >= $tp_min)
    GROUP BY k
)
SELECT r._row, best.word_topic FROM r JOIN best ON best.k = r.k
"""


def classify(con, rules: Rules, *, table: str, out: str, row: str = "_row", content: str = "content",
             only: str = "true") -> None:
    """Create temp table `out` (_row, word_topic) for the rows of `table` whose text qualifies by words.

    Also registers `_topic_cats` (category, cat_topic, cat_rank) for the category part of the rule.
    `table`, `out`, `row` and `content` are identifiers chosen by the caller, never user input;
    `only` is a fixed SQL condition of the caller's (it may use `_topic_cats`) that limits the
    text search to the rows whose topic the words would decide.
    """
    pattern, vocab, cats = vocabulary(rules)
    con.register("_topic_vocab", vocab)
    con.register("_topic_cats", cats)
    sql = HITS_SQL.format(out=out, row=row, content=content, table=table, only=only)
    con.execute(sql, {"tp_pattern": pattern, "tp_min": rules.min_words})
