"""The county's register (建档立卡, issue 12; rules.md §3): household and member fields, grids.

- registry.household: `poverty_cause` 主要致贫原因, `other_causes` 其他致贫原因 (at most two),
  `registered_year` 识别年度, `lifted_out_year` 脱贫年度, `risk_types` 风险类型 (monitored households),
  `relocated` 易地扶贫搬迁 with `resettlement_site`, `grid_code` 网格 (optional).
- registry.member: `education_level` 文化程度, `employment` 务工状况 with `months_worked` 务工时间（月）,
  `medical_insured_years` 城乡居民基本医疗保险 and `pension_insured_years` 城乡居民基本养老保险 (the
  years enrolled: "booleans, per year").
- registry.household `monitoring_origin`: `migration` for a household brought over monitored from the
  national system (监测对象 with its type and 纳入监测时间, no case here yet); the monitoring check then
  holds for such a household without a case: status monitored = (a case, or a migration's monitoring).
- registry.grid: the grids 网格 of a village with their 网格长 (a reference table like the region tree).

Codes are validated by the API (the enums of services/registry/domain/model.py); the database keeps
the value bounded only.

Revision ID: 0008_register_fields
Revises: 0007_citus_ready
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_register_fields"
down_revision = "0007_citus_ready"
branch_labels = None
depends_on = None

_EMPTY_TEXTS = sa.text("'{}'::text[]")
_EMPTY_INTS = sa.text("'{}'::integer[]")
_MONITORED = "status in ('unstable', 'marginal', 'sudden_hardship')"
_MONITORING_CHECK = f"({_MONITORED}) = (monitoring_case_id is not null or monitoring_origin is not null)"


def upgrade() -> None:
    add = op.add_column
    add("household", sa.Column("poverty_cause", sa.String(24), nullable=True), schema="registry")
    add(
        "household",
        sa.Column("other_causes", postgresql.ARRAY(sa.Text), nullable=False, server_default=_EMPTY_TEXTS),
        schema="registry",
    )
    add("household", sa.Column("registered_year", sa.SmallInteger, nullable=True), schema="registry")
    add("household", sa.Column("lifted_out_year", sa.SmallInteger, nullable=True), schema="registry")
    add(
        "household",
        sa.Column("risk_types", postgresql.ARRAY(sa.Text), nullable=False, server_default=_EMPTY_TEXTS),
        schema="registry",
    )
    add("household", sa.Column("relocated", sa.Boolean, nullable=False, server_default=sa.false()), schema="registry")
    add("household", sa.Column("resettlement_site", sa.Text, nullable=True), schema="registry")
    add("household", sa.Column("grid_code", sa.String(16), nullable=True), schema="registry")
    add("household", sa.Column("monitoring_origin", sa.String(12), nullable=True), schema="registry")
    op.drop_constraint("ck_household_monitoring_case", "household", schema="registry", type_="check")
    op.create_check_constraint("ck_household_monitoring_case", "household", _MONITORING_CHECK, schema="registry")
    op.create_check_constraint(
        "ck_household_monitoring_origin",
        "household",
        "monitoring_origin IS NULL OR monitoring_origin = 'migration'",
        schema="registry",
    )
    op.create_index(
        "ix_household_county_code_poverty_cause",
        "household",
        ["county_code", "poverty_cause"],
        schema="registry",
    )
    op.create_index(
        "ix_household_county_code_lifted_out_year",
        "household",
        ["county_code", "lifted_out_year"],
        schema="registry",
        postgresql_where=sa.text("lifted_out_year IS NOT NULL"),
    )
    op.create_index("ix_household_grid_code", "household", ["grid_code"], schema="registry")

    add("member", sa.Column("education_level", sa.String(20), nullable=True), schema="registry")
    add("member", sa.Column("employment", sa.String(20), nullable=True), schema="registry")
    add("member", sa.Column("months_worked", sa.SmallInteger, nullable=True), schema="registry")
    add(
        "member",
        sa.Column("medical_insured_years", postgresql.ARRAY(sa.Integer), nullable=False, server_default=_EMPTY_INTS),
        schema="registry",
    )
    add(
        "member",
        sa.Column("pension_insured_years", postgresql.ARRAY(sa.Integer), nullable=False, server_default=_EMPTY_INTS),
        schema="registry",
    )
    op.create_check_constraint(
        "ck_member_months_worked",
        "member",
        "months_worked IS NULL OR months_worked BETWEEN 0 AND 12",
        schema="registry",
    )

    op.create_table(
        "grid",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("leader_name", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="registry",
    )
    op.create_index("ix_grid_village_code", "grid", ["village_code"], schema="registry")


def downgrade() -> None:
    op.drop_table("grid", schema="registry")
    op.drop_constraint("ck_member_months_worked", "member", schema="registry", type_="check")
    for column in ("pension_insured_years", "medical_insured_years", "months_worked", "employment", "education_level"):
        op.drop_column("member", column, schema="registry")
    for index in (
        "ix_household_grid_code",
        "ix_household_county_code_lifted_out_year",
        "ix_household_county_code_poverty_cause",
    ):
        op.drop_index(index, table_name="household", schema="registry")
    op.drop_constraint("ck_household_monitoring_origin", "household", schema="registry", type_="check")
    op.drop_constraint("ck_household_monitoring_case", "household", schema="registry", type_="check")
    op.create_check_constraint(
        "ck_household_monitoring_case",
        "household",
        f"({_MONITORED}) = (monitoring_case_id is not null)",
        schema="registry",
    )
    for column in (
        "monitoring_origin",
        "grid_code",
        "resettlement_site",
        "relocated",
        "risk_types",
        "lifted_out_year",
        "registered_year",
        "other_causes",
        "poverty_cause",
    ):
        op.drop_column("household", column, schema="registry")
