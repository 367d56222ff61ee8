"""Screening sees the data as of its period (rules.md §1.3 "Precisely").

- `registry.income_history`: the earlier values of an income year, kept by a statement trigger
  when a row is corrected in place (benefits added, a survey corrected) or deleted, with the
  interval [valid_from, valid_to) in which each value was the registry's (database clock).
- `registry.household_income_v1` (read contract, owner: registry): every version of every income
  year, valid_to null for the current one. A run reads "the value registered as of T".
- `screening.lead`: income and the figures derived from it may be null (a household with no income
  on file can still be a lead by housing or water).
- `screening.run_data_quality`: the households a run lists apart ("no income on file"), per village.
- `ix_feed_record_household` also carries `matched_at`, so the window pass that keeps only records
  matched by the first run of a period stays index-only.

Revision ID: 0006
Revises: 0005_claims_paid_contract
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005_claims_paid_contract"
branch_labels = None
depends_on = None

_UPGRADE = """
CREATE TABLE registry.income_history (
    household_id  uuid          NOT NULL,
    year          integer       NOT NULL,
    county_code   varchar(6)    NOT NULL,
    net_income    numeric(14, 2) NOT NULL,
    valid_from    timestamptz   NOT NULL,
    valid_to      timestamptz   NOT NULL
);
CREATE INDEX ix_income_history_key ON registry.income_history (county_code, household_id, year, valid_to);

CREATE FUNCTION registry.keep_income_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the versions that stop being current: rows whose value changed (UPDATE) or that are gone (DELETE);
    -- clock_timestamp(): the moment of the change, not the start of a long transaction
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO registry.income_history (household_id, year, county_code, net_income, valid_from, valid_to)
        SELECT o.household_id, o.year, o.county_code, o.net_income,
               coalesce((SELECT max(h.valid_to) FROM registry.income_history h
                          WHERE h.county_code = o.county_code AND h.household_id = o.household_id
                            AND h.year = o.year), o.created_at),
               clock_timestamp()
          FROM old_rows o
         WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                            WHERE n.household_id = o.household_id AND n.year = o.year
                              AND n.county_code = o.county_code AND n.net_income = o.net_income);
    ELSE
        INSERT INTO registry.income_history (household_id, year, county_code, net_income, valid_from, valid_to)
        SELECT o.household_id, o.year, o.county_code, o.net_income,
               coalesce((SELECT max(h.valid_to) FROM registry.income_history h
                          WHERE h.county_code = o.county_code AND h.household_id = o.household_id
                            AND h.year = o.year), o.created_at),
               clock_timestamp()
          FROM old_rows o;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER income_history_on_update AFTER UPDATE ON registry.income
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry.keep_income_history();
CREATE TRIGGER income_history_on_delete AFTER DELETE ON registry.income
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry.keep_income_history();

CREATE VIEW registry.household_income_v1 AS
SELECT i.household_id                                AS household_id,
       i.county_code::text                           AS county_code,
       i.year                                        AS year,
       i.net_income                                  AS net_income,
       coalesce(h.last_change, i.created_at)         AS valid_from,
       CAST(NULL AS timestamptz)                     AS valid_to
  FROM registry.income i
  LEFT JOIN (SELECT county_code, household_id, year, max(valid_to) AS last_change
               FROM registry.income_history GROUP BY county_code, household_id, year) h
         ON h.county_code = i.county_code AND h.household_id = i.household_id AND h.year = i.year
UNION ALL
SELECT household_id, county_code::text, year, net_income, valid_from, valid_to
  FROM registry.income_history;
COMMENT ON VIEW registry.household_income_v1 IS
'Read contract v1 (owner: registry). One row per version of a household''s annual net income: '
'net_income was the registry''s value from valid_from (inclusive) to valid_to (exclusive; null: current), '
'database clock. The value as of T: valid_from <= T AND (valid_to IS NULL OR valid_to > T). '
'Filter by county_code. See shared/contracts/registry.py.';

ALTER TABLE screening.lead ALTER COLUMN income DROP NOT NULL;
ALTER TABLE screening.lead ALTER COLUMN adjusted_income DROP NOT NULL;
ALTER TABLE screening.lead ALTER COLUMN per_capita_income DROP NOT NULL;
ALTER TABLE screening.lead ALTER COLUMN adjusted_per_capita DROP NOT NULL;

CREATE TABLE screening.run_data_quality (
    run_id            uuid        NOT NULL REFERENCES screening.run (id),
    county_code       varchar(6)  NOT NULL,
    issue             varchar(32) NOT NULL CHECK (issue IN ('no_income_on_file')),
    township_code     varchar(9)  NOT NULL,
    village_code      varchar(12) NOT NULL,
    household_id      uuid        NOT NULL,
    household_number  text,
    CONSTRAINT pk_run_data_quality PRIMARY KEY (run_id, issue, village_code, household_id)
);

DROP INDEX screening.ix_feed_record_household;
CREATE INDEX ix_feed_record_household ON screening.feed_record (county_code, household_id, event_date)
    INCLUDE (kind, amount, grade, id, batch_id, matched_at);
"""

_DOWNGRADE = """
DROP INDEX screening.ix_feed_record_household;
CREATE INDEX ix_feed_record_household ON screening.feed_record (county_code, household_id, event_date)
    INCLUDE (kind, amount, grade, id, batch_id);
DROP TABLE screening.run_data_quality;
ALTER TABLE screening.lead ALTER COLUMN income SET NOT NULL;
ALTER TABLE screening.lead ALTER COLUMN adjusted_income SET NOT NULL;
ALTER TABLE screening.lead ALTER COLUMN per_capita_income SET NOT NULL;
ALTER TABLE screening.lead ALTER COLUMN adjusted_per_capita SET NOT NULL;
DROP VIEW registry.household_income_v1;
DROP TRIGGER income_history_on_delete ON registry.income;
DROP TRIGGER income_history_on_update ON registry.income;
DROP FUNCTION registry.keep_income_history();
DROP TABLE registry.income_history;
"""


def _statements(script: str) -> list[str]:
    """The script's statements (asyncpg runs one per call); `$$` bodies are kept whole."""
    out, current, in_body = [], [], False
    for line in script.strip().splitlines():
        current.append(line)
        in_body ^= line.count("$$") % 2 == 1
        if not in_body and line.rstrip().endswith(";"):
            out.append("\n".join(current))
            current = []
    return out


def upgrade() -> None:
    for statement in _statements(_UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(_DOWNGRADE):
        op.execute(statement)
