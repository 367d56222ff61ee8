"""公益岗 (public-welfare posts; issue 13, rules.md §4).

- screening.public_post: a post of a county, township or village (region_code, its level), its
  name, the monthly wage, the days a month it requires and its capacity (岗位数).
- screening.public_post_assignment: a member of a household holding a post from start_date to
  end_date (open while active); one active assignment per member; the assignment's
  `public_welfare_post` assistance measure (screening.assistance_measure), whose payments carry
  the wages to the registry as income.
- screening.public_post_attendance: one month of an assignment: days attended, the assessment
  (考核: pass / warning / fail), the wage and days figures it was computed with, the wage payable.

Every key carries county_code (the distribution column, tests/deploy/test_citus_ready.py) and every
foreign key is co-located.

Revision ID: 0012_public_posts
Revises: 0011_cadres
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_public_posts"
down_revision = "0011_cadres"
branch_labels = None
depends_on = None

S = "screening"
MONEY = sa.Numeric(14, 2)


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "public_post",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("monthly_wage", MONEY, nullable=False),
        sa.Column("days_per_month", sa.SmallInteger, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="open"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_public_post"),
        sa.CheckConstraint("monthly_wage > 0", name="ck_public_post_wage"),
        sa.CheckConstraint("days_per_month BETWEEN 1 AND 31", name="ck_public_post_days"),
        sa.CheckConstraint("capacity > 0", name="ck_public_post_capacity"),
        sa.CheckConstraint("level IN ('county', 'township', 'village')", name="ck_public_post_level"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_public_post_status"),
        schema=S,
    )
    op.create_index("ix_public_post_region", "public_post", ["county_code", "region_code"], schema=S)
    op.create_table(
        "public_post_assignment",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("post_id", sa.Uuid, nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("measure_id", sa.Uuid, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("end_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_public_post_assignment"),
        sa.ForeignKeyConstraint(
            ["post_id", "county_code"],
            [f"{S}.public_post.id", f"{S}.public_post.county_code"],
            name="fk_public_post_assignment_post",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id", "county_code"],
            [f"{S}.assistance_measure.id", f"{S}.assistance_measure.county_code"],
            name="fk_public_post_assignment_measure",
        ),
        sa.CheckConstraint("status IN ('active', 'ended')", name="ck_public_post_assignment_status"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_public_post_assignment_dates"),
        schema=S,
    )
    # One live assignment per member.
    op.create_index(
        "uq_public_post_assignment_member",
        "public_post_assignment",
        ["county_code", "member_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_public_post_assignment_post", "public_post_assignment", ["county_code", "post_id", "status"], schema=S
    )
    op.create_index(
        "ix_public_post_assignment_household", "public_post_assignment", ["county_code", "household_id"], schema=S
    )
    op.create_table(
        "public_post_attendance",
        sa.Column("assignment_id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("days_attended", sa.SmallInteger, nullable=False),
        sa.Column("assessment", sa.String(8), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("monthly_wage", MONEY, nullable=False),
        sa.Column("days_per_month", sa.SmallInteger, nullable=False),
        sa.Column("wage_payable", MONEY, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_stamps(),
        sa.PrimaryKeyConstraint("assignment_id", "county_code", "period", name="pk_public_post_attendance"),
        sa.ForeignKeyConstraint(
            ["assignment_id", "county_code"],
            [f"{S}.public_post_assignment.id", f"{S}.public_post_assignment.county_code"],
            name="fk_public_post_attendance_assignment",
        ),
        sa.CheckConstraint("days_attended BETWEEN 0 AND 31", name="ck_public_post_attendance_days"),
        sa.CheckConstraint("assessment IN ('pass', 'warning', 'fail')", name="ck_public_post_attendance_assessment"),
        sa.CheckConstraint("wage_payable >= 0", name="ck_public_post_attendance_wage"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("public_post_attendance", schema=S)
    op.drop_table("public_post_assignment", schema=S)
    op.drop_table("public_post", schema=S)
