"""`python manage.py users ...` from a script (issue 17): add with --password-stdin, list, set-role,
set-districts, reset-password, disable/enable, with --db before or after the operation; every change audited."""

from __future__ import annotations

import io
import shutil

import pytest

import manage
from data import audit, people, records

PASSWORD = "Lin-Qing-2026!"


@pytest.fixture()
def db(tiny_db_path, tmp_path):
    p = tmp_path / "users.duckdb"
    shutil.copy(tiny_db_path, p)
    return str(p)


def _run(monkeypatch, capsys, args, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    rc = manage.main(args)
    return rc, capsys.readouterr().out


def test_accounts_are_managed_from_a_script(db, monkeypatch, capsys):
    rc, out = _run(monkeypatch, capsys, ["users", "add", "linqing", "--role", "prosecutor", "--district", "朝阳",
                                         "--password-stdin", "--db", db], PASSWORD + "\n")
    assert rc == 0, out
    assert "已创建账号 linqing（检察官，朝阳区）" in out   # the short form read as the canonical name
    with records.session(db) as con:
        p = people.authenticate(con, "linqing", PASSWORD)
        assert (p.role, p.districts) == ("prosecutor", ("朝阳区",))
        with pytest.raises(people.SignInError):
            people.authenticate(con, "linqing", "wrong password")

    rc, out = _run(monkeypatch, capsys, ["users", "--db", db, "list"])
    assert rc == 0 and "linqing" in out and "检察官" in out
    assert _run(monkeypatch, capsys, ["users", "set-role", "linqing", "clue_admin", "--db", db])[0] == 0
    assert _run(monkeypatch, capsys, ["users", "set-districts", "linqing", "--db", db])[0] == 0   # the city
    rc, out = _run(monkeypatch, capsys, ["users", "reset-password", "linqing", "--db", db])
    assert rc == 0 and "仅显示这一次" in out
    new_password = out.split("：")[1].split("（")[0]
    assert _run(monkeypatch, capsys, ["users", "disable", "linqing", "--db", db])[0] == 0
    with records.session(db) as con:
        with pytest.raises(people.SignInError):
            people.authenticate(con, "linqing", new_password)
    assert _run(monkeypatch, capsys, ["users", "enable", "linqing", "--db", db])[0] == 0
    with records.session(db) as con:
        p = people.authenticate(con, "linqing", new_password)
        assert (p.role, p.districts) == ("clue_admin", ())
        actions = [r["action"] for r in con.execute("SELECT action FROM audit ORDER BY seq").fetchall()]
        assert audit.verify(con).ok
    assert actions.count("user_change") >= 6


def test_bad_input_is_refused_clearly(db, monkeypatch, capsys):
    rc, out = _run(monkeypatch, capsys, ["users", "add", "x1", "--role", "prosecutor", "--db", db])
    assert rc == 2 and "--password-stdin" in out
    rc, out = _run(monkeypatch, capsys, ["users", "add", "x2", "--role", "chief", "--password-stdin", "--db", db],
                   PASSWORD + "\n")
    assert rc == 1 and "失败" in out
    rc, out = _run(monkeypatch, capsys, ["users", "add", "x3", "--role", "prosecutor", "--district", "火星区",
                                         "--password-stdin", "--db", db], PASSWORD + "\n")
    assert rc == 1 and "失败" in out
    rc, out = _run(monkeypatch, capsys, ["users", "disable", "nobody", "--db", db])
    assert rc == 1
    with records.session(db) as con:
        assert [a.name for a in people.list_accounts(con)] == []
