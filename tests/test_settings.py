"""Every setting is documented in the README, and settings read the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(settings.SETTINGS))
def test_setting_is_documented_in_readme(name):
    s = settings.SETTINGS[name]
    row = next((line for line in README.splitlines() if line.startswith(f"| `{name}`")), None)
    assert row is not None, f"{name} missing from the README settings table"
    assert f"`{s.default}`" in row or (s.default == "" and "(empty)" in row), f"default of {name} not in README"


def test_settings_read_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "x.duckdb"))
    assert settings.db_path() == tmp_path / "x.duckdb"
    monkeypatch.setenv("HOTLINE_DB", "rel/y.duckdb")
    assert settings.db_path() == settings.PROJECT_ROOT / "rel" / "y.duckdb"
    monkeypatch.setenv("HOTLINE_MAP_MAX_FEATURES", "123")
    assert settings.get("HOTLINE_MAP_MAX_FEATURES") == 123
    monkeypatch.setenv("HOTLINE_MAP_MAX_FEATURES", "many")
    with pytest.raises(ValueError, match="HOTLINE_MAP_MAX_FEATURES"):
        settings.get("HOTLINE_MAP_MAX_FEATURES")
    monkeypatch.setenv("HOTLINE_LOCKOUT_ATTEMPTS", "0")
    assert settings.flag("HOTLINE_LOCKOUT_ATTEMPTS") is False


def test_every_manage_command_is_documented_in_readme():
    import manage

    parser = manage.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        assert f"python manage.py {name}" in README, f"manage.py {name} is not in the README"
