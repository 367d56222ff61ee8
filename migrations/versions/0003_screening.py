"""Screening: thresholds, feeds, runs, leads, cases, measures.

Revision ID: 0003_screening
Revises: 0002_registry
Create Date: 2026-11-22

Every large table carries `county_code` (the distribution column at national scale: unique
keys include it). Feed records keep national IDs only encrypted (AES-GCM) with an HMAC blind
index for the SQL match against `registry.member_identity_v1`; never in plain.
"""

from __future__ import annotations

from alembic import op

revision = "0003_screening"
down_revision = "0002_registry"
branch_labels = None
depends_on = None

_TABLES = (
    "claim_lead",
    "objection",
    "measure",
    "case_transition",
    "monitoring_case",
    "lead_evidence",
    "lead",
    "run",
    "feed_record",
    "feed_batch",
    "threshold_version",
)

_UPGRADE = """
CREATE TABLE screening.threshold_version (
    id              uuid PRIMARY KEY,
    county_code     varchar(6)  NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    year            integer     NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    version         integer     NOT NULL CHECK (version > 0),
    "values"        jsonb       NOT NULL,
    sources         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    note            text,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_threshold_version_county_year_version UNIQUE (county_code, year, version)
);

CREATE TABLE screening.feed_batch (
    id                      uuid PRIMARY KEY,
    county_code             varchar(6)  NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    department              varchar(40) NOT NULL,
    period                  varchar(7),
    format                  varchar(8)  NOT NULL CHECK (format IN ('jsonl', 'csv')),
    declared_record_count   integer     NOT NULL,
    declared_control_total  numeric(18, 2) NOT NULL,
    record_count            integer     NOT NULL DEFAULT 0,
    control_total           numeric(18, 2) NOT NULL DEFAULT 0,
    status                  varchar(16) NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'rejected')),
    progress_done           integer     NOT NULL DEFAULT 0,
    progress_total          integer     NOT NULL DEFAULT 0,
    accepted_count          integer     NOT NULL DEFAULT 0,
    duplicate_count         integer     NOT NULL DEFAULT 0,
    invalid_count           integer     NOT NULL DEFAULT 0,
    matched_count           integer     NOT NULL DEFAULT 0,
    unmatched_count         integer     NOT NULL DEFAULT 0,
    claim_lead_count        integer     NOT NULL DEFAULT 0,
    errors                  jsonb       NOT NULL DEFAULT '[]'::jsonb,
    result                  jsonb,
    content_sha256          varchar(64) NOT NULL,
    created_by              text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    started_at              timestamptz,
    finished_at             timestamptz
);
CREATE INDEX ix_feed_batch_county_department ON screening.feed_batch (county_code, department, created_at);
CREATE INDEX ix_feed_batch_unfinished ON screening.feed_batch (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE screening.feed_record (
    id                  uuid PRIMARY KEY,
    county_code         varchar(6)   NOT NULL,
    batch_id            uuid         NOT NULL REFERENCES screening.feed_batch (id),
    department          varchar(40)  NOT NULL,
    source_record_id    varchar(200) NOT NULL,
    line_no             integer      NOT NULL,
    kind                varchar(32)  NOT NULL,
    event_date          date         NOT NULL,
    national_id_enc     bytea,
    national_id_index   bytea,
    national_id_masked  varchar(32),
    household_number    varchar(64),
    member_id           uuid,
    household_id        uuid,
    amount              numeric(14, 2) NOT NULL DEFAULT 0,
    amounts             jsonb        NOT NULL DEFAULT '{}'::jsonb,
    grade               smallint,
    details             jsonb        NOT NULL DEFAULT '{}'::jsonb,
    matched_at          timestamptz,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT ck_feed_record_person CHECK (national_id_index IS NOT NULL OR household_number IS NOT NULL),
    CONSTRAINT ck_feed_record_amount CHECK (amount >= 0),
    CONSTRAINT uq_feed_record_source UNIQUE (county_code, department, source_record_id)
);
-- Covers what a run reads: the window sums come from one index-only pass in household order, and
-- each lead's lineage (record and batch ids) from index-only lookups, never from the wide heap rows.
CREATE INDEX ix_feed_record_household ON screening.feed_record (county_code, household_id, event_date)
    INCLUDE (kind, amount, grade, id, batch_id);
CREATE INDEX ix_feed_record_batch ON screening.feed_record (batch_id, line_no);
CREATE INDEX ix_feed_record_unmatched ON screening.feed_record (county_code, national_id_index)
    WHERE household_id IS NULL;

CREATE TABLE screening.run (
    id                    uuid PRIMARY KEY,
    county_code           varchar(6)  NOT NULL CHECK (county_code ~ '^[0-9]{6}$'),
    period                varchar(7)  NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    version               integer     NOT NULL,
    status                varchar(16) NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    trigger               varchar(16) NOT NULL DEFAULT 'api',
    threshold_version_id  uuid REFERENCES screening.threshold_version (id),
    thresholds            jsonb,
    window_start          date        NOT NULL,
    window_end            date        NOT NULL,
    progress_done         integer     NOT NULL DEFAULT 0,
    progress_total        integer     NOT NULL DEFAULT 0,
    result                jsonb,
    errors                jsonb       NOT NULL DEFAULT '[]'::jsonb,
    superseded_by         uuid,
    superseded_at         timestamptz,
    created_by            text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    started_at            timestamptz,
    finished_at           timestamptz,
    CONSTRAINT uq_run_county_period_version UNIQUE (county_code, period, version)
);
CREATE INDEX ix_run_current ON screening.run (county_code, period) WHERE status = 'succeeded' AND superseded_by IS NULL;

CREATE TABLE screening.lead (
    id                   uuid PRIMARY KEY,
    run_id               uuid        NOT NULL REFERENCES screening.run (id),
    county_code          varchar(6)  NOT NULL,
    township_code        varchar(9)  NOT NULL,
    village_code         varchar(12) NOT NULL,
    household_id         uuid        NOT NULL,
    household_number     text,
    household_status     varchar(20) NOT NULL,
    members              integer     NOT NULL,
    labour_count         integer     NOT NULL,
    income_year          integer,
    income               numeric(14, 2) NOT NULL,
    income_prev          numeric(14, 2),
    window_total         numeric(16, 2) NOT NULL,
    adjusted_income      numeric(16, 2) NOT NULL,
    per_capita_income    numeric(16, 2) NOT NULL,
    adjusted_per_capita  numeric(16, 2) NOT NULL,
    codes                text[]      NOT NULL,
    figures              jsonb       NOT NULL,
    lead_basis           text[]      NOT NULL,
    is_lead              boolean     NOT NULL,
    suggested_type       varchar(20),
    insured_this_year    boolean     NOT NULL DEFAULT false,
    routing              varchar(16) NOT NULL CHECK (routing IN ('new_lead', 'case_evidence')),
    case_id              uuid,
    rank                 integer,
    township_rank        integer,
    state                varchar(16) NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'case_opened', 'dismissed')),
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_lead_run_township ON screening.lead (run_id, township_code, township_rank);
CREATE INDEX ix_lead_household ON screening.lead (county_code, household_id);
CREATE INDEX ix_lead_case ON screening.lead (case_id) WHERE case_id IS NOT NULL;

-- No foreign key to lead: rows are written by the run that writes the leads, in its transaction,
-- and a per-row check costs a second per hundred thousand links in a county-wide run.
CREATE TABLE screening.lead_evidence (
    lead_id         uuid        NOT NULL,
    county_code     varchar(6)  NOT NULL,
    code            varchar(32) NOT NULL,
    feed_record_id  uuid        NOT NULL,
    batch_id        uuid        NOT NULL,
    CONSTRAINT pk_lead_evidence PRIMARY KEY (lead_id, code, feed_record_id)
);
CREATE INDEX ix_lead_evidence_record ON screening.lead_evidence (feed_record_id);

CREATE TABLE screening.monitoring_case (
    id                        uuid PRIMARY KEY,
    county_code               varchar(6)  NOT NULL,
    township_code             varchar(9)  NOT NULL,
    village_code              varchar(12) NOT NULL,
    household_id              uuid        NOT NULL,
    household_number          text,
    source                    varchar(16) NOT NULL CHECK (source IN ('screening', 'self_report', 'cadre_visit')),
    state                     varchar(32) NOT NULL,
    risk_codes                text[]      NOT NULL DEFAULT '{}',
    suggested_type            varchar(20),
    monitoring_type           varchar(20),
    elimination_kind          varchar(16),
    lead_id                   uuid REFERENCES screening.lead (id),
    opened_at                 timestamptz NOT NULL,
    state_entered_at          timestamptz NOT NULL,
    identification_deadline   date        NOT NULL,
    notice_start_date         date,
    notice_days               integer,
    confirmed_at              timestamptz,
    eliminated_at             timestamptz,
    closed_at                 timestamptz,
    threshold_version_id      uuid REFERENCES screening.threshold_version (id),
    version                   integer     NOT NULL DEFAULT 1,
    created_by                text,
    updated_at                timestamptz NOT NULL DEFAULT now()
);
-- One open case per household (rules.md §1.3: new evidence goes onto it, never a second case).
CREATE UNIQUE INDEX uq_monitoring_case_open_household ON screening.monitoring_case (county_code, household_id)
    WHERE state NOT IN ('eliminated', 'rejected');
CREATE INDEX ix_monitoring_case_county_state ON screening.monitoring_case (county_code, state);
CREATE INDEX ix_monitoring_case_village ON screening.monitoring_case (village_code);
CREATE INDEX ix_monitoring_case_deadline ON screening.monitoring_case (county_code, identification_deadline)
    WHERE state IN ('lead', 'verifying', 'verified', 'village_reviewed', 'notice', 'township_reviewed');

CREATE TABLE screening.case_transition (
    id             uuid PRIMARY KEY,
    case_id        uuid        NOT NULL REFERENCES screening.monitoring_case (id),
    county_code    varchar(6)  NOT NULL,
    seq            integer     NOT NULL,
    action         varchar(40) NOT NULL,
    from_state     varchar(32) NOT NULL,
    to_state       varchar(32) NOT NULL,
    actor_sub      text        NOT NULL,
    actor_role     varchar(32) NOT NULL,
    actor_region   varchar(12) NOT NULL,
    at             timestamptz NOT NULL,
    comment        text,
    evidence       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    threshold_version_id uuid REFERENCES screening.threshold_version (id),  -- the parameters the step used
    CONSTRAINT uq_case_transition_case_seq UNIQUE (case_id, seq)
);
CREATE INDEX ix_case_transition_county_at ON screening.case_transition (county_code, at);

CREATE TABLE screening.measure (
    id              uuid PRIMARY KEY,
    case_id         uuid        NOT NULL REFERENCES screening.monitoring_case (id),
    county_code     varchar(6)  NOT NULL,
    household_id    uuid        NOT NULL,
    measure_type    varchar(32) NOT NULL,
    description     text        NOT NULL,
    start_date      date        NOT NULL,
    delivered_date  date,
    version         integer     NOT NULL DEFAULT 1,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_measure_dates CHECK (delivered_date IS NULL OR delivered_date >= start_date)
);
CREATE INDEX ix_measure_case ON screening.measure (case_id);
CREATE INDEX ix_measure_household ON screening.measure (county_code, household_id, measure_type);
CREATE INDEX ix_measure_delivered ON screening.measure (county_code, delivered_date) WHERE delivered_date IS NOT NULL;

CREATE TABLE screening.objection (
    id                  uuid PRIMARY KEY,
    case_id             uuid        NOT NULL REFERENCES screening.monitoring_case (id),
    county_code         varchar(6)  NOT NULL,
    notice_state        varchar(32) NOT NULL CHECK (notice_state IN ('notice', 'elimination_notice')),
    notice_start_date   date        NOT NULL,
    content             text        NOT NULL,
    raised_by_sub       text        NOT NULL,
    raised_by_role      varchar(32) NOT NULL,
    raised_at           timestamptz NOT NULL,
    status              varchar(16) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    resolution          text,
    resolved_by_sub     text,
    resolved_at         timestamptz,
    version             integer     NOT NULL DEFAULT 1
);
CREATE INDEX ix_objection_case ON screening.objection (case_id, status);

CREATE TABLE screening.claim_lead (
    id                  uuid PRIMARY KEY,
    county_code         varchar(6)   NOT NULL,
    source              varchar(16)  NOT NULL CHECK (source IN ('feed', 'screening_run')),
    source_record_id    varchar(200) NOT NULL,
    household_id        uuid         NOT NULL,
    category            varchar(32)  NOT NULL,
    incident_year       integer      NOT NULL,
    feed_record_id      uuid,
    run_id              uuid,
    outbox_message_id   uuid         NOT NULL,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT uq_claim_lead_source UNIQUE (county_code, source_record_id)
);
-- An income drop is one claim lead per household and year, whichever monthly run found it first.
CREATE UNIQUE INDEX uq_claim_lead_income_drop ON screening.claim_lead (county_code, household_id, incident_year)
    WHERE category = 'income_drop';
"""


def upgrade() -> None:
    # One statement per execute: the asyncpg driver prepares statements, which allows only one.
    for statement in _UPGRADE.split(";\n"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP TABLE IF EXISTS screening.{table}")
