"""Responsible cadres 帮扶责任人 of a household (issue 12; rules.md §3).

registry.household_cadre: one row per assignment of a cadre to a household, with from/to dates
(`end_date` null while it runs). The cadre's name, work unit 单位名称 and affiliation 隶属关系 are
plain; the phone is personal data like the household's: AES-GCM / SM4-GCM ciphertext (`phone_enc`,
purpose `cadre_phone`), a keyed blind index for the lookup of a cadre's households by phone
(`phone_index`) and the masked form every response shows (`phone_masked`).

The key carries county_code (the distribution column, tests/deploy/test_citus_ready.py) and the
household reference is a co-located foreign key (household_id, county_code) onto the household's
primary key (0007): assignments are few per household, so the per-row check costs nothing here.

Revision ID: 0011_cadres
Revises: 0010_trigger_plans
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_cadres"
down_revision = "0010_trigger_plans"
branch_labels = None
depends_on = None

S = "registry"


def upgrade() -> None:
    op.create_table(
        "household_cadre",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("work_unit", sa.Text),
        sa.Column("affiliation", sa.Text),
        sa.Column("phone_enc", sa.LargeBinary),
        sa.Column("phone_index", sa.LargeBinary),
        sa.Column("phone_masked", sa.String(24)),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("end_reason", sa.Text),
        sa.Column("created_by", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_household_cadre"),
        sa.ForeignKeyConstraint(
            ["household_id", "county_code"],
            [f"{S}.household.id", f"{S}.household.county_code"],
            name="fk_household_cadre_household",
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_household_cadre_dates"),
        schema=S,
    )
    op.create_index("ix_household_cadre_household", "household_cadre", ["county_code", "household_id"], schema=S)
    op.create_index("ix_household_cadre_name", "household_cadre", ["name"], schema=S)
    op.create_index(
        "ix_household_cadre_phone_index",
        "household_cadre",
        ["phone_index"],
        schema=S,
        postgresql_where=sa.text("phone_index IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("household_cadre", schema=S)
