"""How well a rule finds the demo's planted places: precision and recall of its grouped items.

The demo generator plants hotspots and repeat places per special project and records them in `demo_truth`
(data/synth). A rule's item (its hits grouped by place, data/screening/places.py) is right when its position
lies within a planted place of the rule's project (the place's radius plus `slack_m`); a planted place is found
when one item lies within it. Precision = right items / items; recall = found places / planted places.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.screening import places
from data.screening.compile import EVERYTHING, Target
from data.screening.rule import Rule
from data.screening.run import find
from geo.crs import haversine_m


@dataclass(frozen=True)
class Score:
    key: str
    project: str
    items: int
    right: int
    planted: int
    found: int
    hits: int

    @property
    def precision(self) -> float | None:
        return self.right / self.items if self.items else None

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None


def planted(con, project: str) -> pd.DataFrame:
    return con.execute("SELECT truth_id, kind, lon, lat, radius_m, n_tickets FROM demo_truth WHERE topic = $t",
                       {"t": project}).fetch_df()


def score(con, rule: Rule, target: Target = EVERYTHING, *, slack_m: float = 200.0) -> Score:
    """Precision and recall of `rule`'s items against the places planted for its project."""
    hits = find(con, rule, target)
    items = places.group(hits, rule.group_by)
    items = items[items["lon"].notna()].reset_index(drop=True)
    truth = planted(con, rule.project)
    if items.empty or truth.empty:
        return Score(rule.key, rule.project, len(items), 0, len(truth), 0, len(hits))
    d = haversine_m(items["lon"].to_numpy()[:, None], items["lat"].to_numpy()[:, None],
                    truth["lon"].to_numpy()[None, :], truth["lat"].to_numpy()[None, :])
    inside = d <= (truth["radius_m"].to_numpy()[None, :] + slack_m)
    return Score(rule.key, rule.project, len(items), int(inside.any(axis=1).sum()), len(truth),
                 int(inside.any(axis=0).sum()), len(hits))


def table(scores: list[Score]) -> pd.DataFrame:
    return pd.DataFrame([{"rule": s.key, "project": s.project, "hits": s.hits, "items": s.items, "right": s.right,
                          "precision": s.precision, "planted": s.planted, "found": s.found, "recall": s.recall}
                         for s in scores]).replace({np.nan: None})
