"""Every setting of the product in one place.

Settings are read from environment variables each time they are asked for, so
tests and commands can override them. Each one has a name, a default and a
help text; the README lists them all and a test checks that it does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    kind: type = str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("HOTLINE_DB", "var/hotline.duckdb",
                "Path of the DuckDB store (relative paths are taken from the project root)."),
        Setting("HOTLINE_DEMO_TICKETS", "500000",
                "Tickets in the demo database that `make run` builds when none exists.", int),
        Setting("HOTLINE_DEMO_YEARS", "2",
                "Years covered by the default demo database (ending in the last full month).", int),
        Setting("HOTLINE_DEMO_SEED", "12345", "Random seed of the default demo database.", int),
        Setting("HOTLINE_TOPIC_RULES", "",
                "YAML file with the special-project (topic) rules used at import (categories and signal words); "
                "empty means the region pack's own rules (Beijing: data/topics.yaml)."),
        Setting("HOTLINE_MAP_MAX_FEATURES", "5000",
                "Most features one map may send to the browser; above it points are aggregated.", int),
        Setting("HOTLINE_TILE_URL", "",
                "Optional internal tile server URL template ({z}/{x}/{y}); empty means outlines only, no tiles."),
        Setting("HOTLINE_TILE_CRS", "wgs84",
                "Coordinate system of the tiles at HOTLINE_TILE_URL: wgs84 or gcj02 (Gaode-style tiles)."),
        Setting("HOTLINE_TILE_ATTRIBUTION", "内部地图服务", "Attribution shown for the tile layer."),
        Setting("HOTLINE_SCREEN_REFRESH_SECONDS", "300",
                "Refresh interval of the wall screen (/screen), in seconds: it re-reads the store (a new import) "
                "and the records (screening queue, clue ledger) this often.", int),
        Setting("HOTLINE_SCREEN_ROTATE_SECONDS", "30",
                "Seconds each frame of the wall screen's rotation stays on (all tickets, then each special "
                "project with its own map and figures); 0 = no rotation.", int),
        Setting("HOTLINE_SCREEN_WATCHDOG_SECONDS", "180",
                "The wall screen reloads its page by itself when no refresh has reached it for this many seconds "
                "(at least five refresh intervals) and the server answers.", int),
        Setting("HOTLINE_SCREEN_PROJECTS", "",
                "Special projects the wall screen rotates through, comma-separated in order (e.g. "
                "井盖,污水,假冒伪劣); empty = the month's projects with tickets, most first, at most 8."),
        Setting("HOTLINE_SCREEN_THEME", "dark", "Colours of the wall screen: dark or light."),
        Setting("HOTLINE_SCREEN_SCALE", "1",
                "Size of the wall screen's layout against a 1920×1080 browser window: 2 for a 3840×2160 screen "
                "at 100 % zoom, 0.667 for a 1280×720 projector (`/screen?scale=` overrides it).", float),
        Setting("HOTLINE_LETTER_REPLY_DAYS", "7",
                "Deadline for a procedural reply to a letter or visit (12309), days.", int),
        Setting("HOTLINE_LETTER_RESULT_DAYS", "90",
                "Deadline for the result of a letter or visit (12309), days.", int),
        Setting("HOTLINE_CLUE_REVIEW_DAYS", "7",
                "Deadline from a clue's registration to its collective review and filing decision, days.", int),
        Setting("HOTLINE_NOTIFY_DAYS", "3",
                "Deadline to notify the reporter in writing after the filing decision, days.", int),
        Setting("HOTLINE_SUGGESTION_REPLY_DAYS", "60",
                "Reply period of a pre-litigation suggestion (two months), days.", int),
        Setting("HOTLINE_URGENT_REPLY_DAYS", "15",
                "Reply period of an urgent pre-litigation suggestion (十五日回复期), days.", int),
        Setting("HOTLINE_RETURN_MIN_DAYS", "7",
                "Back after a close (办结后再诉): a ticket counts when received more than this many days after a "
                "ticket about the same problem nearby was closed (sooner: the same episode).", int),
        Setting("HOTLINE_RETURN_MAX_DAYS", "90",
                "Back after a close: ... and at most this many days after it (later: a new episode).", int),
        Setting("HOTLINE_RETURN_RADIUS_M", "50",
                "Back after a close: the closed ticket lies within about this many metres (every pair closer counts, "
                "none beyond 2.83 times it); changing a HOTLINE_RETURN_* setting needs `python manage.py init` "
                "to recompute the stored flags.", int),
        Setting("HOTLINE_LOOKBACK_DAYS", "60",
                "Days after a rectification by which the on-site follow-up check (回头看) is due.", int),
        Setting("HOTLINE_DUE_SOON_DAYS", "3",
                "A ledger deadline this many days away or fewer is listed as due soon (即将到期).", int),
        Setting("HOTLINE_CHROMIUM", "/usr/bin/chromium",
                "Chromium used by chart export (kaleido) and the briefing PDF."),
        Setting("HOTLINE_FONT", "Noto Sans CJK SC",
                "CJK font family used in charts and exports."),
        Setting("HOTLINE_IMPORT_CHUNK_ROWS", "200000",
                "Rows per chunk when importing large files (bounds memory).", int),
        Setting("HOTLINE_UPLOAD_MAX_MB", "200",
                "Largest file the 导入 page accepts, MB (larger exports: `python manage.py ingest`).", int),
        Setting("HOTLINE_IMPORT_MAX_FILE_MB", "4096",
                "Largest file any import reads, MB; a larger one is refused before it is read.", int),
        Setting("HOTLINE_IMPORT_MAX_XLSX_MB", "1024",
                "Largest unpacked size of an XLSX workbook, MB; one that would expand past it (a zip bomb) "
                "is refused before it is parsed.", int),
        Setting("HOTLINE_IMPORT_MAX_ROWS", "5000000",
                "Most data rows in one imported file or sheet; a file with more is refused before anything "
                "is stored (an XLSX sheet also stops at Excel's 1,048,575).", int),
        Setting("HOTLINE_IMPORT_MEMORY_MB", "2048",
                "DuckDB memory limit of a write to the store (an import, a recount), MB; past it DuckDB "
                "spills to disk.", int),
        Setting("HOTLINE_RECORDS_DB", "",
                "SQLite file of the records people write (accounts, audit, rules, queue, clue ledger, 12309); "
                "empty means `<HOTLINE_DB without .duckdb>.records.sqlite` beside the ticket store."),
        Setting("HOTLINE_AUDIT_KEY_FILE", "",
                "File holding the secret key of the audit trail's hash chain; empty means "
                "`<records file>.audit-key`, created with mode 0600 on first use. Keep a copy apart."),
        Setting("HOTLINE_IMPORT_NICE", "10",
                "CPU priority that `manage.py ingest` gives itself (nice increment, 0-19; 0: the same as the "
                "dashboard): an import on the dashboard's machine yields the cores to the people browsing.", int),
        Setting("HOTLINE_SESSION_IDLE_MINUTES", "30",
                "A signed-in session that has been idle this long must sign in again.", int),
        Setting("HOTLINE_LOCKOUT_ATTEMPTS", "5",
                "Failed sign-ins in a row after which an account is locked.", int),
        Setting("HOTLINE_LOCKOUT_MINUTES", "15",
                "How long a locked account stays locked, minutes.", int),
        Setting("HOTLINE_PASSWORD_MIN_LENGTH", "10",
                "Shortest password accepted for an account.", int),
        Setting("HOTLINE_WORDS_WORKERS", "1",
                "Processes that segment ticket text into words at import (jieba); 0 = one per CPU core. "
                "Imports of fewer than 50,000 tickets always use one.", int),
        Setting("HOTLINE_RULES_REGION", "beijing",
                "Region whose starter library of screening rules (data/rules/<region>/) is offered and installed."),
        Setting("HOTLINE_SCREEN_AFTER_IMPORT", "1",
                "Run the active screening rules over the new and changed tickets after every import (0 = only "
                "on demand)."),
        Setting("HOTLINE_SCREEN_PLACE_M", "200",
                "Grid cell of a queue item's place, metres: hits of one rule in the same or a neighbouring cell "
                "join one item.", int),
        Setting("HOTLINE_SCREEN_MAX_HITS", "200000",
                "Most hits one rule may record in one screening run; a rule that finds more is stopped and "
                "reported (too broad for a queue).", int),
        Setting("HOTLINE_REGION", "beijing",
                "Region pack of a new store (geo/regions/<name>, or one built with `manage.py region build`): its "
                "districts, streets, bounds, aliases and special-project rules. A store keeps the region it holds."),
        Setting("HOTLINE_REGIONS_DIR", "var/regions",
                "Folder of the region packs built with `python manage.py region build` (beside the shipped ones)."),
        Setting("HOTLINE_EXTRA_FILTER_MAX_VALUES", "30",
                "An export's other column (mapping `extra`) becomes a sidebar filter when it has at most this many "
                "distinct values.", int),
        Setting("HOTLINE_ENGINE", "duckdb",
                "Engine that answers the dashboard's queries: duckdb (the embedded store, default), clickhouse "
                "(a ClickHouse server or cluster, or chdb in process) or spark (an Apache Spark cluster reading "
                "the store as Parquet); the store is loaded into it with `python manage.py engine ship`. "
                "See docs/scale-out.md."),
        Setting("HOTLINE_ENGINE_URL", "",
                "Where the engine is: clickhouse://USER:PASSWORD@HOST:8123/DATABASE (clickhouses:// for "
                "TLS), or chdb:PATH?database=NAME for the in-process engine (empty means chdb beside HOTLINE_DB); "
                "for spark: spark://HOST:PORT?warehouse=PATH&database=NAME (the Parquet warehouse the cluster "
                "reads). Add city=NAME (a store's region) to the query to read one city of a national database."),
        Setting("HOTLINE_MIN_COMPARE_BASE", "30",
                "Fewest tickets a comparison period (previous period, a year earlier) must hold for a change in % "
                "to be shown; below it the pages show — and say why.", int),
        Setting("HOTLINE_DEFAULT_PERIOD_MIN_TICKETS", "10",
                "Fewest tickets the default period's last complete month must hold; a thinner month (sparse "
                "data) widens to the last 3, then 12 complete months, else to all the data.", int),
    ]
}


def get(name: str):
    """Return the current value of a setting, converted to its type."""
    s = SETTINGS[name]
    raw = os.environ.get(name, s.default)
    if s.kind is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"setting {name} must be an integer, got {raw!r}") from exc
    if s.kind is float:
        try:
            return float(raw)
        except ValueError as exc:
            raise ValueError(f"setting {name} must be a number, got {raw!r}") from exc
    return raw


def flag(name: str) -> bool:
    return str(get(name)).strip().lower() not in {"0", "false", "no", "off", ""}


def path(name: str) -> Path:
    """A setting that names a file; relative paths are taken from the project root."""
    p = Path(str(get(name))).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p


def db_path() -> Path:
    return path("HOTLINE_DB")
