"""两类户动态调整 (the monthly adjustment of the two monitored kinds; issue 13, rules.md §4) and region
names for screening (issue 14).

- registry.region_v1 (read contract, owner: registry): code, name, level, parent_code of every region by its
  significant code (6 digits a county, 9 a township, 12 a village: the codes households and cases carry);
  screening reads the names beside the codes of its spreadsheets and lists from it
  (shared/contracts/registry.py).
- screening.adjustment_settlement: a village's adjustment list of a calendar month (county time zone)
  as submitted by the village (a snapshot of its entries), approved or returned by the township.
  One row per (county, village, month); resubmitted after a return.

Revision ID: 0015_adjustments
Revises: 0014_care
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_adjustments"
down_revision = "0014_care"
branch_labels = None
depends_on = None

S = "screening"

_VIEW = """
CREATE VIEW registry.region_v1 AS
SELECT r.prefix::text AS code,
       r.name         AS name,
       r.level::text  AS level,
       p.prefix::text AS parent_code
  FROM registry.region r
  LEFT JOIN registry.region p ON p.code = r.parent_code
"""
_COMMENT = """
COMMENT ON VIEW registry.region_v1 IS
'Read contract v1 (owner: registry). Every region of the tree by its significant code, the one households, '
'cases and tokens carry (6 digits a county, 9 a township, 12 a village; 2 a province, 4 a city): code, name, '
'level (province, city, county, township, village), parent_code (the parent''s significant code). '
'See shared/contracts/registry.py.';
"""


def upgrade() -> None:
    op.execute(_VIEW)
    op.execute(_COMMENT)
    op.create_table(
        "adjustment_settlement",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("entries", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("entry_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("submitted_by", sa.Text),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("return_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("county_code", "village_code", "month", name="pk_adjustment_settlement"),
        sa.CheckConstraint("status IN ('submitted', 'approved', 'returned')", name="ck_adjustment_settlement_status"),
        sa.CheckConstraint("month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name="ck_adjustment_settlement_month"),
        sa.CheckConstraint("village_code LIKE county_code || '%'", name="ck_adjustment_settlement_village"),
        schema=S,
    )
    op.create_index(
        "ix_adjustment_settlement_month", "adjustment_settlement", ["county_code", "month", "status"], schema=S
    )


def downgrade() -> None:
    op.drop_index("ix_adjustment_settlement_month", "adjustment_settlement", schema=S)
    op.drop_table("adjustment_settlement", schema=S)
    op.execute("DROP VIEW registry.region_v1")
