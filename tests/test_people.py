"""Accounts, passwords, lockout and the audit trail (data/people.py, data/audit.py, data/records)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from data import audit, people, records


@pytest.fixture()
def rec(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "s.duckdb"))
    monkeypatch.delenv("HOTLINE_RECORDS_DB", raising=False)
    monkeypatch.delenv("HOTLINE_AUDIT_KEY_FILE", raising=False)
    con = records.connect()
    yield con
    con.close()


ADMIN = audit.Actor("boss", "admin")
PW = "correct horse 1"


def test_records_file_sits_beside_the_ticket_store(tmp_path, monkeypatch):
    monkeypatch.delenv("HOTLINE_RECORDS_DB", raising=False)
    assert records.path_for(tmp_path / "x" / "demo.duckdb") == tmp_path / "x" / "demo.records.sqlite"
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "other.sqlite"))
    assert records.path_for(tmp_path / "demo.duckdb") == tmp_path / "other.sqlite"


def test_passwords_are_argon2_hashes_never_the_password(rec):
    people.add(rec, ADMIN, "zhang", "prosecutor", password=PW, districts=["朝阳区"], display_name="张三")
    (h,) = rec.execute("SELECT password_hash FROM users WHERE name = 'zhang'").fetchone()
    assert h.startswith("$argon2id$") and PW not in h
    p = people.authenticate(rec, "zhang", PW)
    assert (p.name, p.role, p.districts, p.display_name) == ("zhang", "prosecutor", ("朝阳区",), "张三")
    assert p.scope.districts == ("朝阳区",) and p.scope.texts


def test_wrong_password_and_unknown_account_give_the_same_message(rec):
    people.add(rec, ADMIN, "zhang", "prosecutor", password=PW)
    with pytest.raises(people.SignInError) as a:
        people.authenticate(rec, "zhang", "wrong password")
    with pytest.raises(people.SignInError) as b:
        people.authenticate(rec, "nobody", "wrong password")
    assert str(a.value) == str(b.value) == "账号或密码错误。"
    fails = audit.search(rec, action="sign_in_failed")
    assert sorted(fails["target"]) == ["nobody", "zhang"]


def test_lockout_after_repeated_failures_even_with_the_right_password(rec, monkeypatch):
    monkeypatch.setenv("HOTLINE_LOCKOUT_ATTEMPTS", "3")
    monkeypatch.setenv("HOTLINE_LOCKOUT_MINUTES", "15")
    t0 = datetime(2026, 3, 2, 9, 0, 0)
    monkeypatch.setattr(records, "now", lambda: t0)
    people.add(rec, ADMIN, "li", "clue_admin", password=PW)
    for _ in range(2):
        with pytest.raises(people.SignInError, match="账号或密码错误"):
            people.authenticate(rec, "li", "bad")
    with pytest.raises(people.SignInError, match="锁定"):
        people.authenticate(rec, "li", "bad")
    with pytest.raises(people.SignInError, match="锁定"):
        people.authenticate(rec, "li", PW)
    acc = people.get(rec, "li")
    assert acc.failed_count == 3 and acc.locked_until == t0 + timedelta(minutes=15)
    monkeypatch.setattr(records, "now", lambda: t0 + timedelta(minutes=16))
    assert people.authenticate(rec, "li", PW).name == "li"
    assert people.get(rec, "li").failed_count == 0
    fails = audit.search(rec, user="li", action="sign_in_failed")
    assert len(fails) == 4   # three wrong passwords and one right password while locked
    assert list(audit.search(rec, user="li", action="sign_in")["target"]) == ["li"]


def test_disabled_account_cannot_sign_in_and_reset_lifts_a_lock(rec, monkeypatch):
    monkeypatch.setenv("HOTLINE_LOCKOUT_ATTEMPTS", "1")
    people.add(rec, ADMIN, "wang", "press", password=PW)
    with pytest.raises(people.SignInError, match="锁定"):
        people.authenticate(rec, "wang", "bad")
    people.reset_password(rec, ADMIN, "wang", "another password")
    assert people.authenticate(rec, "wang", "another password").role == "press"
    people.disable(rec, ADMIN, "wang")
    with pytest.raises(people.SignInError, match="停用"):
        people.authenticate(rec, "wang", "another password")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "x", "role": "leader", "password": PW}, "账号名"),
    ({"name": "zhao", "role": "boss", "password": PW}, "未知角色"),
    ({"name": "zhao", "role": "leader", "password": "short"}, "密码至少"),
    ({"name": "zhao", "role": "leader", "password": PW, "districts": ["火星区"]}, "未知辖区"),
])
def test_bad_accounts_are_refused_with_a_reason(rec, kwargs, message):
    with pytest.raises(people.PeopleError, match=message):
        people.add(rec, ADMIN, known_districts={"朝阳区", "海淀区"}, **kwargs)
    assert people.count(rec) == 0


def test_first_admin_is_created_once(rec):
    pw = people.ensure_first_admin(rec)
    assert pw and len(pw) >= 12
    assert people.authenticate(rec, "admin", pw).role == "admin"
    assert people.ensure_first_admin(rec) is None


def test_audit_is_append_only_and_chained(rec):
    for i in range(5):
        audit.record(ADMIN, "ticket_view", f"T{i}", {"i": i}, con=rec)
    v = audit.verify(rec)
    assert v.ok and v.rows == 5 and len(v.head) == 64
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        rec.execute("UPDATE audit SET target = 'X' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        rec.execute("DELETE FROM audit WHERE seq = 2")
    # Someone with the file drops the guard and edits a row: the chain shows where.
    rec.execute("DROP TRIGGER audit_no_update")
    rec.execute("UPDATE audit SET target = 'T9' WHERE seq = 3")
    assert audit.verify(rec).broken == (3,)
    rec.execute("DROP TRIGGER audit_no_delete")
    rec.execute("DELETE FROM audit WHERE seq = 4")
    assert audit.verify(rec).broken == (3, 5)


def test_audit_search_filters_and_reports_cut(rec, monkeypatch):
    monkeypatch.setattr(records, "now", lambda: datetime(2026, 5, 1, 10))
    audit.record(audit.Actor("a", "prosecutor"), "export", "x.xlsx", {"filters": {"district": "朝阳区"}}, con=rec)
    monkeypatch.setattr(records, "now", lambda: datetime(2026, 5, 3, 10))
    audit.record(audit.Actor("b", "leader"), "ticket_view", "T1", con=rec)
    audit.record(audit.Actor("a", "prosecutor"), "ticket_view", "T2", con=rec)
    assert list(audit.search(rec, user="a")["target"]) == ["T2", "x.xlsx"]
    assert list(audit.search(rec, since=datetime(2026, 5, 2).date())["target"]) == ["T2", "T1"]
    assert list(audit.search(rec, until=datetime(2026, 5, 1).date())["target"]) == ["x.xlsx"]
    assert list(audit.search(rec, text="朝阳")["target"]) == ["x.xlsx"]
    assert len(audit.search(rec, limit=1)) == 2   # limit + 1: the caller says the list was cut
    with pytest.raises(KeyError):
        audit.record(ADMIN, "no_such_action")


def test_concurrent_writers_lose_nothing(rec, tmp_path):
    import threading

    errors = []

    def work(k):
        try:
            with records.session() as con:
                for i in range(20):
                    audit.record(audit.Actor(f"u{k}"), "ticket_view", f"{k}-{i}", con=con)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    v = audit.verify(rec)
    assert v.ok and v.rows == 160


def test_the_role_matrix_in_docs_security_md_is_the_one_in_the_code():
    from data import roles
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for perm in roles.PERMISSIONS:
        line = next(x for x in doc.splitlines() if x.startswith(f"| `{perm}` "))
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        assert cells == ["✓" if roles.allowed(r, perm) else "" for r in roles.ROLES], perm
