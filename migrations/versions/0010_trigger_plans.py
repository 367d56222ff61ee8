"""Statement triggers plan their checks for the statement at hand (EXECUTE), not once per connection.

The integrity triggers of 0002 (a member, income or benefit must name a household; a referenced
household cannot go) and the income history of 0006 check a statement's transition table with a
static PL/pgSQL query. PL/pgSQL prepares a static query once per connection and keeps that plan:
a connection whose first member insert met a small household table kept a nested loop with a
sequential scan of household for each new row, and a later insert of 120,000 members on that
connection ran the check as 120,000 scans of 30,000 households (minutes, where the planned check
takes well under a second). A pooled connection lives for hours, so the same happens in a
service. EXECUTE plans each check for the statement's own transition table (its exact row count)
and the table's current size; the planning costs well under a millisecond per statement, and the
triggers run once per statement, not per row.

Revision ID: 0010_trigger_plans
Revises: 0009_assistance
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0010_trigger_plans"
down_revision = "0009_assistance"
branch_labels = None
depends_on = None

REQUIRE_HOUSEHOLD = """
CREATE OR REPLACE FUNCTION registry.require_household() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan boolean;
BEGIN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM new_rows n
                             WHERE NOT EXISTS (SELECT 1 FROM registry.household h WHERE h.id = n.household_id))'
       INTO orphan;
    IF orphan THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            CONSTRAINT = TG_TABLE_NAME || '_household_id_fkey',
            MESSAGE = format('registry.%s.household_id must name a household', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;
"""

KEEP_REFERENCED = """
CREATE OR REPLACE FUNCTION registry.keep_referenced_household() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced boolean;
BEGIN
    -- the households that are gone: deleted, or (an UPDATE) whose id changed
    IF TG_OP = 'UPDATE' THEN
        EXECUTE 'SELECT EXISTS (
                     SELECT 1 FROM old_rows o
                      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)
                        AND (EXISTS (SELECT 1 FROM registry.member m WHERE m.household_id = o.id)
                             OR EXISTS (SELECT 1 FROM registry.income i WHERE i.household_id = o.id)
                             OR EXISTS (SELECT 1 FROM registry.benefit b WHERE b.household_id = o.id)))'
           INTO referenced;
    ELSE
        EXECUTE 'SELECT EXISTS (
                     SELECT 1 FROM old_rows o
                      WHERE EXISTS (SELECT 1 FROM registry.member m WHERE m.household_id = o.id)
                         OR EXISTS (SELECT 1 FROM registry.income i WHERE i.household_id = o.id)
                         OR EXISTS (SELECT 1 FROM registry.benefit b WHERE b.household_id = o.id))'
           INTO referenced;
    END IF;
    IF referenced THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            CONSTRAINT = 'household_referenced',
            MESSAGE = 'a household with members, incomes or benefits cannot be deleted (archive it)';
    END IF;
    RETURN NULL;
END $$;
"""

INCOME_HISTORY = """
CREATE OR REPLACE FUNCTION registry.keep_income_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the versions that stop being current: rows whose value changed (UPDATE) or that are gone (DELETE);
    -- clock_timestamp(): the moment of the change, not the start of a long transaction
    IF TG_OP = 'UPDATE' THEN
        EXECUTE 'INSERT INTO registry.income_history (household_id, year, county_code, net_income, valid_from, valid_to)
                 SELECT o.household_id, o.year, o.county_code, o.net_income,
                        coalesce((SELECT max(h.valid_to) FROM registry.income_history h
                                   WHERE h.county_code = o.county_code AND h.household_id = o.household_id
                                     AND h.year = o.year), o.created_at),
                        clock_timestamp()
                   FROM old_rows o
                  WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                                     WHERE n.household_id = o.household_id AND n.year = o.year
                                       AND n.county_code = o.county_code AND n.net_income = o.net_income)';
    ELSE
        EXECUTE 'INSERT INTO registry.income_history (household_id, year, county_code, net_income, valid_from, valid_to)
                 SELECT o.household_id, o.year, o.county_code, o.net_income,
                        coalesce((SELECT max(h.valid_to) FROM registry.income_history h
                                   WHERE h.county_code = o.county_code AND h.household_id = o.household_id
                                     AND h.year = o.year), o.created_at),
                        clock_timestamp()
                   FROM old_rows o';
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    for sql in (REQUIRE_HOUSEHOLD, KEEP_REFERENCED, INCOME_HISTORY):
        op.execute(sql)


def downgrade() -> None:
    # Nothing to undo: the EXECUTE versions check exactly what 0002's and 0006's did (same results,
    # same errors), so the schema of 0009 is served by them as it is; restoring the static bodies
    # would only bring back the stale plans.
    pass
