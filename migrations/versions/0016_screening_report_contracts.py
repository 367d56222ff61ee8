"""Screening's read contracts for the county report (rules.md §5): measures and 兜底 subjects.

- screening.assistance_measure_v1: every assistance measure (帮扶措施) with its household, region,
  type, status and dates;
- screening.care_subject_v1: every 兜底 subject with its group (兜底 group), status and placement.

The registry's report (GET /v1/statistics) counts measures in effect in a year by type and 兜底
people by group and placement from them, as it reads claims.payment_paid_v1 for the claims paid
(shared/contracts/assistance.py names the columns; changing one is a new _v2 view).

Revision ID: 0016_screening_report_contracts
Revises: 0015_adjustments
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0016_screening_report_contracts"
down_revision = "0015_adjustments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW screening.assistance_measure_v1 AS
        SELECT m.id                  AS measure_id,
               m.county_code::text   AS county_code,
               m.township_code::text AS township_code,
               m.village_code::text  AS village_code,
               m.household_id        AS household_id,
               m.measure_type::text  AS measure_type,
               m.status::text        AS status,
               m.start_date          AS start_date,
               m.end_date            AS end_date
          FROM screening.assistance_measure m
        """
    )
    op.execute(
        """
        CREATE VIEW screening.care_subject_v1 AS
        SELECT s.id                  AS subject_id,
               s.county_code::text   AS county_code,
               s.village_code::text  AS village_code,
               s.household_id        AS household_id,
               s.member_id           AS member_id,
               s.care_group::text    AS care_group,
               s.status::text        AS status,
               s.placement::text     AS placement,
               s.placed_on           AS placed_on
          FROM screening.care_subject s
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS screening.care_subject_v1")
    op.execute("DROP VIEW IF EXISTS screening.assistance_measure_v1")
