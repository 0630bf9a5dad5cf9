"""Screening (过筛子): legal supervision models run over the tickets, their hits grouped into a queue to assess.

Why a package of its own: a screening rule is data written by prosecutors (YAML/JSON, `rule`), compiled to one
read-only SQL query over the ticket store (`compile`), kept with every version in the records store
(`library`), run after every import and on demand (`run`, `hook`), and its hits grouped by rule and place into
the queue where people decide (`queue`). `backtest` measures a rule over a past period, `collide` matches
another list against the tickets (数据碰撞). See docs/screening.md.
"""
