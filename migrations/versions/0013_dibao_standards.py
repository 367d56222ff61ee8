"""低保 standards (issue 13, rules.md §4): the county's monthly amount per person of each class (A / B /
C) per year, versioned like the thresholds (a new version never changes a payment already made: each
generated payment names the version in its details).

Revision ID: 0013_dibao_standards
Revises: 0012_public_posts
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_dibao_standards"
down_revision = "0012_public_posts"
branch_labels = None
depends_on = None

S = "screening"
MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "dibao_standard",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("amount_a", MONEY, nullable=False),
        sa.Column("amount_b", MONEY, nullable=False),
        sa.Column("amount_c", MONEY, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_dibao_standard"),
        sa.UniqueConstraint("county_code", "year", "version", name="uq_dibao_standard_county_code_year_version"),
        sa.CheckConstraint("amount_a > 0 AND amount_b > 0 AND amount_c > 0", name="ck_dibao_standard_amounts"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("dibao_standard", schema=S)
