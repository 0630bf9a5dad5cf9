-- The store: one DuckDB file. See docs/data-model.md for every column.
-- Uniqueness of ticket_id, clue_id and case_id is enforced by the import
-- pipeline (merge by key), not by index constraints: ART indexes on 25 M text
-- keys would cost the read-only dashboard memory and slow bulk loads.

CREATE SEQUENCE IF NOT EXISTS import_id_seq START 1;

CREATE TABLE IF NOT EXISTS imports (
    import_id     BIGINT,
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    file          VARCHAR,
    kind          VARCHAR,      -- tickets / clues / clue_tickets / cases / rectifications
    format        VARCHAR,      -- csv / xlsx / parquet
    encoding      VARCHAR,
    sheet         VARCHAR,
    mapping       VARCHAR,
    crs           VARCHAR,
    status        VARCHAR,      -- running / ok / failed
    rows_read     BIGINT,
    inserted      BIGINT,
    updated       BIGINT,
    unchanged     BIGINT,
    quarantined   BIGINT,
    reasons       VARCHAR,      -- JSON {reason: count} of quarantined rows
    flags         VARCHAR,      -- JSON {flag: count} of cleaning flags on stored rows
    message       VARCHAR,
    seconds       DOUBLE
);

CREATE TABLE IF NOT EXISTS quarantine (
    import_id   BIGINT,
    file        VARCHAR,
    sheet       VARCHAR,
    row_number  BIGINT,         -- 1-based data row in the file (header not counted)
    kind        VARCHAR,
    reason      VARCHAR,        -- machine code, e.g. missing_id, bad_time, conflicting_duplicate
    detail      VARCHAR,        -- human-readable Chinese explanation
    record_id   VARCHAR,        -- the row's id where it has one
    raw         VARCHAR,        -- the original row as JSON
    created_at  TIMESTAMP
);

CREATE TABLE IF NOT EXISTS districts (
    district      VARCHAR,      -- canonical name, e.g. 朝阳区
    adcode        VARCHAR,
    population    BIGINT,       -- 7th census, 2020
    area_km2      DOUBLE,
    lon           DOUBLE,       -- label point
    lat           DOUBLE,
    is_core       BOOLEAN       -- 东城/西城 (capital core functional area)
);

CREATE TABLE IF NOT EXISTS streets (
    street_code     VARCHAR,    -- 12-digit statistical code
    street          VARCHAR,
    district        VARCHAR,
    area_km2        DOUBLE,
    population_est  DOUBLE,     -- district population split evenly over its streets (estimate)
    lon             DOUBLE,     -- guaranteed-inside label point
    lat             DOUBLE
);

CREATE TABLE IF NOT EXISTS tickets (
    ticket_id          VARCHAR NOT NULL,
    received_at        TIMESTAMP NOT NULL,   -- Asia/Shanghai local time
    channel            VARCHAR,
    appeal_type        VARCHAR,              -- 投诉/求助/咨询/建议
    category_l1        VARCHAR,
    category_l2        VARCHAR,
    category_l3        VARCHAR,
    topic              VARCHAR,              -- special project, e.g. 井盖; NULL if none
    content            VARCHAR,
    district           VARCHAR,
    street             VARCHAR,
    street_code        VARCHAR,
    address            VARCHAR,
    lon                DOUBLE,               -- WGS84, NULL when unknown
    lat                DOUBLE,
    source_crs         VARCHAR,              -- wgs84 / gcj02 / bd09 as received
    geo_flag           VARCHAR,              -- NULL ok; no_coords, outside_region, outside_polygons, swapped_fixed, district_mismatch
    handling_unit      VARCHAR,
    status             VARCHAR,
    responded_at       TIMESTAMP,
    closed_at          TIMESTAMP,
    satisfaction       VARCHAR,              -- 满意/基本满意/不满意
    resolved           BOOLEAN,              -- return visit: problem solved (解决率)
    complainant_name   VARCHAR,
    complainant_phone  VARCHAR,
    row_hash           VARCHAR,              -- hash of the cleaned record, to tell unchanged from updated
    import_id          BIGINT,
    updated_at         TIMESTAMP,
    reply              VARCHAR,              -- the handling unit's reply to the citizen (答复意见)
    due_at             TIMESTAMP,            -- deadline to close the ticket (办理时限)
    extra              VARCHAR               -- other columns of the export, JSON {header: value} (mapping `extra`)
);
-- Columns added after the first release: data/store.py adds them to an older store (`init` upgrades).

CREATE TABLE IF NOT EXISTS clues (
    clue_id      VARCHAR NOT NULL,
    created_at   TIMESTAMP,
    district     VARCHAR,     -- the procuratorate's district
    function     VARCHAR,     -- 刑事/民事/行政/公益诉讼
    department   VARCHAR,     -- e.g. 第八检察部
    topic        VARCHAR,
    source       VARCHAR,     -- e.g. 12345热线
    status       VARCHAR,     -- 待审查/已立案/不立案/移送
    reviewed_at  TIMESTAMP,
    summary      VARCHAR,
    row_hash     VARCHAR,
    import_id    BIGINT,
    updated_at   TIMESTAMP
);

CREATE TABLE IF NOT EXISTS clue_tickets (
    clue_id    VARCHAR NOT NULL,
    ticket_id  VARCHAR NOT NULL,
    import_id  BIGINT
);

CREATE TABLE IF NOT EXISTS cases (
    case_id       VARCHAR NOT NULL,
    clue_id       VARCHAR,
    filed_at      TIMESTAMP,
    case_type     VARCHAR,
    measure       VARCHAR,    -- 诉前检察建议/社会治理检察建议/支持起诉/刑事立案/移送行政处罚/...
    measure_at    TIMESTAMP,
    reply_due_at  TIMESTAMP,
    replied_at    TIMESTAMP,
    urgent        BOOLEAN,
    row_hash      VARCHAR,
    import_id     BIGINT,
    updated_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS rectifications (
    case_id         VARCHAR NOT NULL,
    rectified_at    TIMESTAMP,
    result          VARCHAR,  -- 整改到位/部分整改/未整改
    followed_up_at  TIMESTAMP, -- 回头看
    outcome         VARCHAR,
    outcome_value   DOUBLE,
    outcome_unit    VARCHAR,  -- 元 / 个 / 吨 / ...
    row_hash        VARCHAR,
    import_id       BIGINT,
    updated_at      TIMESTAMP
);

-- Summary kept at import: one row per day x place x category x topic x channel x type.
-- Pages answer from it whenever the filters allow (no text or function filter).
CREATE TABLE IF NOT EXISTS ticket_daily (
    day          DATE,
    district     VARCHAR,
    street       VARCHAR,
    category_l1  VARCHAR,
    category_l2  VARCHAR,
    category_l3  VARCHAR,
    topic        VARCHAR,
    channel      VARCHAR,
    appeal_type  VARCHAR,
    n            BIGINT,
    n_located    BIGINT,
    n_responded  BIGINT,
    n_closed     BIGINT,
    n_resolved   BIGINT,
    n_rated      BIGINT,
    n_satisfied  BIGINT
);

-- Words of each ticket's text (jieba with the domain dictionary), computed at import
-- by data/words.py: one row per distinct word or phrase ("词1 词2") of a ticket.
CREATE TABLE IF NOT EXISTS ticket_words (
    ticket_id  VARCHAR,
    word       VARCHAR,
    day        DATE          -- the ticket's received day (lets date filters skip blocks)
);

-- Summary kept at import: tickets containing each word, by day x district x topic x category_l1.
-- The topics page answers from it whenever the filters allow (see analytics/topics.py).
CREATE TABLE IF NOT EXISTS word_daily (
    day          DATE,
    district     VARCHAR,
    topic        VARCHAR,
    category_l1  VARCHAR,
    word         VARCHAR,
    n            BIGINT
);

-- The same by month: word_monthly (month x district x topic x category_l1 x word), word_monthly_topic
-- (month x topic x word) and word_monthly_all (month x word); word_weekly, word_weekly_topic and
-- word_weekly_all the same by week (for weekly trends). They are created and filled by
-- data/words.py (refresh / refresh_summaries), never here: an old store opened for writing must not get
-- empty monthly tables that the topics page would then read instead of word_daily.

-- Derived at import by data/links.py: one row per distinct clue-ticket link whose ticket exists, with the
-- ticket's filter and sort columns and the clue's earliest linked ticket (first_at). The funnel and the
-- "linked tickets" lists read it instead of scanning tickets (see docs/data-model.md). Readers use it only
-- when meta 'funnel_tickets_links' says it is current (links.ready), so this empty shell is harmless.
CREATE TABLE IF NOT EXISTS funnel_tickets (
    clue_id      VARCHAR,
    ticket_id    VARCHAR,
    received_at  TIMESTAMP,
    district     VARCHAR,
    street       VARCHAR,
    category_l1  VARCHAR,
    category_l2  VARCHAR,
    category_l3  VARCHAR,
    topic        VARCHAR,
    channel      VARCHAR,
    appeal_type  VARCHAR,
    status       VARCHAR,
    content      VARCHAR,
    reply        VARCHAR,
    extra        VARCHAR,
    day          DATE,
    first_at     TIMESTAMP,    -- min(received_at) over all linked tickets of the clue
    clue_no      BIGINT        -- the clue's number in funnel_clues (NULL: a link to an unknown clue)
);

-- Derived with funnel_tickets by data/links.py: one row per clue and case of it (a clue without a case has
-- one row, case columns NULL), so the funnel reads one narrow table instead of joining clues, cases and
-- rectifications by string id. Readers use it only when meta 'funnel_clues_state' matches the ledgers
-- (links.clues_ready).
CREATE TABLE IF NOT EXISTS funnel_clues (
    clue_no       BIGINT,       -- numbered by the clue's first linked ticket, then clue_id
    clue_id       VARCHAR,
    clue_row      BOOLEAN,      -- TRUE on exactly one row per clue
    created_at    TIMESTAMP,
    reviewed_at   TIMESTAMP,
    district      VARCHAR,
    topic         VARCHAR,
    function      VARCHAR,
    first_at      TIMESTAMP,    -- the clue's earliest linked ticket (any period)
    case_id       VARCHAR,
    filed_at      TIMESTAMP,
    measure       VARCHAR,
    measure_at    TIMESTAMP,
    replied_at    TIMESTAMP,
    urgent        BOOLEAN,
    suggestion    BOOLEAN,      -- a 检察建议 measure with its date: the reply deadline applies
    rectified_at  TIMESTAMP     -- earliest rectification with a date and a result other than 未整改
);

-- hotspot_tickets and hotspot_cells (the located tickets by problem and time, and their day x street x 500 m
-- cell counts, for the hotspot view) are created by data/positions.py (derived.refresh / upgrade), never here:
-- readers use them only when meta 'hotspot_tickets_state' matches the tickets (positions.ready).

CREATE TABLE IF NOT EXISTS meta (
    key    VARCHAR,
    value  VARCHAR
);
