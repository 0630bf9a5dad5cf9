"""Who may do what: the roles, their Chinese names and their permissions, in one table.

Pages and commands ask `allowed(role, permission)` (or `Principal.can`); the district scope is not here but
in data/scope.py, applied to every read below the pages. docs/security.md prints this matrix and a test
checks that the two agree.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "leader": "领导",
    "prosecutor": "检察官",
    "clue_admin": "线索管理员",
    "press": "宣传",
    "admin": "管理员",
    "display": "大屏展示",   # the wall-screen account: read-only, aggregates only
}

PERMISSIONS: dict[str, str] = {
    "view_aggregates": "查看统计（总览、热点、漏斗、地图）",
    "view_tickets": "查看工单列表与详情（个人信息脱敏）",
    "view_texts": "查看诉求内容原文（个人信息脱敏）",
    "unmask": "说明理由后查看单张工单的个人信息",
    "export": "导出图表、表格与文件",
    "briefing": "生成新闻发布材料包",
    "rules_view": "查看筛查规则与命中",
    "rules_edit": "编写、修改筛查规则，运行筛查",
    "queue_view": "查看待研判队列",
    "queue_decide": "研判：排除、并入线索、登记线索",
    "collide": "数据碰撞：上传比对名单",
    "ledger_view": "查看线索台账",
    "ledger_edit": "登记线索、推进办理环节",
    "ledger_report": "线索月报",
    "letters_view": "查看12309信访",
    "letters_edit": "导入、登记12309信访",
    "import": "导入数据",
    "users_admin": "管理用户",
    "audit_view": "查询审计日志",
    "settings_view": "查看系统设置",
    "screen": "大屏展示",
}

_ALL_WORK = {"view_aggregates", "view_tickets", "view_texts", "export", "screen"}
MATRIX: dict[str, frozenset[str]] = {
    "leader": frozenset(_ALL_WORK | {"briefing", "rules_view", "queue_view", "ledger_view", "ledger_report",
                                     "letters_view"}),
    "prosecutor": frozenset(_ALL_WORK | {"unmask", "briefing", "rules_view", "rules_edit", "queue_view",
                                         "queue_decide", "collide", "ledger_view", "ledger_edit", "letters_view"}),
    "clue_admin": frozenset(_ALL_WORK | {"unmask", "rules_view", "queue_view", "ledger_view", "ledger_edit",
                                         "ledger_report", "letters_view", "letters_edit"}),
    "press": frozenset({"view_aggregates", "export", "briefing", "screen"}),
    "admin": frozenset({"view_aggregates", "export", "import", "users_admin", "audit_view", "settings_view",
                        "letters_view", "letters_edit"}),
    "display": frozenset({"screen"}),
}

# Roles whose reads never carry ticket texts or personal columns: the store hides them below the pages
# (data/scope.py), whatever a page asks for.
NO_TEXT_ROLES = frozenset(r for r, perms in MATRIX.items() if "view_texts" not in perms)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"未知角色 {role!r}；可选：{', '.join(ROLES)}")
    return role


def allowed(role: str, permission: str) -> bool:
    """True when `role` has `permission` (an unknown permission is a programming error)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return permission in MATRIX.get(role, frozenset())


def label(role: str) -> str:
    return ROLES.get(role, role)


# Each page of the app (by its URL path) and the permission it needs; app.py builds the menu from it, and
# a page of another role opened by URL says "无权访问" instead of showing anything.
PAGES: dict[str, str] = {
    "overview": "view_aggregates",
    "topics": "view_aggregates",
    "funnel": "view_aggregates",
    "tickets": "view_tickets",
    "map": "view_aggregates",
    "rules": "rules_view",
    "queue": "queue_view",
    "collide": "collide",
    "ledger": "ledger_view",
    "clue": "ledger_view",
    "letters": "letters_view",
    "import": "import",
    "users": "users_admin",
    "audit": "audit_view",
    "screen": "screen",
}


def home_page(role: str) -> str | None:
    """The first page (in PAGES order) the role may open: where it lands after signing in."""
    return next((page for page, perm in PAGES.items() if allowed(role, perm)), None)
