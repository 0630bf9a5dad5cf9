"""Static guards for offline operation, for what the browser tests can miss (races on a cold start).

- No product code names a CDN, tile server or web font host.
- No Streamlit Material icon shortcodes: Streamlit fetches those from fonts.gstatic.com when its icon
  font has not loaded yet, which the benchmark's cold start in Chromium caught once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = [p for d in ("analytics", "data", "geo", "ui", "views", "cli", "bench") for p in sorted((ROOT / d).rglob("*.py"))]
PRODUCT += [ROOT / "app.py", ROOT / "serve.py"]
HOSTS = re.compile(r"https?://[^\s\"')]*(cdn|jsdelivr|unpkg|cdnjs|tile|basemaps|googleapis|gstatic|mapbox|"
                   r"openstreetmap|cartocdn|plot\.ly|d3js)", re.I)


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_internet_hosts_or_material_icons(path):
    text = path.read_text(encoding="utf-8")
    assert not HOSTS.search(text), f"{path.relative_to(ROOT)} names an internet host"
    assert ":material/" not in text, f"{path.relative_to(ROOT)} uses a Streamlit Material icon (fetched online)"
