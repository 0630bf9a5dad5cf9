"""Hostile data made inside the tests (never shipped): a ticket whose texts are Markdown, HTML and links."""

from __future__ import annotations

import shutil
from pathlib import Path

HOSTILE = ("井盖丢了 ![追踪](http://evil.example/pixel.png) [点我领补贴](https://evil.example/login) "
           "**加粗** <b>粗体</b> <img src=http://evil.example/x.png> <script>alert(1)</script> "
           ":material/home: :smile: :red[红字] $x^2$ www.evil.example 联系 a@evil.example "
           "电话 138 1234 5678 身份证 110105 19800101 1234 # 标题 > 引用 `代码` 138****5678 与 139****1234")
HOSTILE_CATEGORY = "![类](http://evil.example/c.png)"
HOSTILE_ID = "EVIL1"

INSERT_SQL = """
INSERT INTO tickets (ticket_id, received_at, channel, appeal_type, category_l1, category_l2, category_l3,
                     content, district, street, address, lon, lat, status, complainant_name, complainant_phone)
VALUES ($id, TIMESTAMP '2025-03-21 10:00:00', '电话', '投诉', '城乡建设', $category, '[链接](http://evil.example)',
        $content, '东城区', '建国门街道', '<img src=http://evil.example/a.png>', 116.4207, 39.9088, '已办结',
        '**坏人**', '138 1234 5678')
"""


def build_hostile(tiny: Path, path: Path) -> Path:
    """A copy of the tiny store with one hostile ticket (March 2025, 东城区), derived tables refreshed."""
    from data import derived, store

    shutil.copy(tiny, path)
    con = store.connect(path)
    con.execute(INSERT_SQL, {"id": HOSTILE_ID, "category": HOSTILE_CATEGORY, "content": HOSTILE})
    derived.refresh(con)
    con.close()
    return path
