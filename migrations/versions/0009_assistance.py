"""Assistance (帮扶措施) with money, visits (入户走访) and attachments (issue 13; rules.md §4).

- screening.attachment / screening.attachment_chunk: files kept in the owning service's schema
  (shared/attachments.py), content in 256 KiB chunks so neither upload nor download holds a file
  whole in memory; type by content, size, SHA-256; scoped by the village of what owns it.
- screening.assistance_measure: a measure as a typed record per §4's table, for any household
  (planned against a risk with a due date, then in progress / delivered / cancelled), and its
  history screening.assistance_measure_history.
- screening.assistance_payment: each payment of a measure (a month's wage, a month of dibao, an aid
  payment, a dividend) and its reversals; one live payment per measure and period.
- screening.visit: a cadre's home visit (入户走访) with structured findings.
- registry.assistance_income: the registry's record of an assistance payment taken as income of its
  year and type (the link back to screening's payment id), exactly once per payment.

Every key carries county_code (the distribution column, tests/deploy/test_citus_ready.py) and every
foreign key between these tables is co-located.

Revision ID: 0009_assistance
Revises: 0008_register_fields
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_assistance"
down_revision = "0008_register_fields"
branch_labels = None
depends_on = None

S = "screening"
MONEY = sa.Numeric(14, 2)


def _now() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("owner_type", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.LargeBinary, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text),
        _now(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_attachment"),
        sa.CheckConstraint("size_bytes > 0", name="ck_attachment_size"),
        schema=S,
    )
    op.create_index("ix_attachment_owner", "attachment", ["county_code", "owner_type", "owner_id"], schema=S)
    op.create_table(
        "attachment_chunk",
        sa.Column("attachment_id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("attachment_id", "county_code", "seq", name="pk_attachment_chunk"),
        sa.ForeignKeyConstraint(
            ["attachment_id", "county_code"],
            [f"{S}.attachment.id", f"{S}.attachment.county_code"],
            name="fk_attachment_chunk_attachment",
            ondelete="CASCADE",
        ),
        schema=S,
    )
    op.create_table(
        "assistance_measure",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("measure_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("risk_code", sa.String(32)),
        sa.Column("due_date", sa.Date),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("provider", sa.Text),
        sa.Column("details", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("amount", MONEY),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_by", sa.Text),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_assistance_measure"),
        schema=S,
    )
    op.create_index("ix_assistance_measure_household", "assistance_measure", ["county_code", "household_id"], schema=S)
    op.create_index(
        "ix_assistance_measure_village", "assistance_measure", ["county_code", "village_code", "status"], schema=S
    )
    op.create_table(
        "assistance_measure_history",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("measure_id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("changes", postgresql.JSONB, nullable=False),
        sa.Column("actor_sub", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_assistance_measure_history"),
        sa.ForeignKeyConstraint(
            ["measure_id", "county_code"],
            [f"{S}.assistance_measure.id", f"{S}.assistance_measure.county_code"],
            name="fk_assistance_measure_history_measure",
        ),
        schema=S,
    )
    op.create_index("ix_assistance_measure_history_measure", "assistance_measure_history", ["measure_id"], schema=S)
    op.create_table(
        "assistance_payment",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("measure_id", sa.Uuid, nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("measure_type", sa.String(32), nullable=False),
        sa.Column("income_type", sa.String(16), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reverses_id", sa.Uuid),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_by", sa.Text),
        _now(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_assistance_payment"),
        sa.ForeignKeyConstraint(
            ["measure_id", "county_code"],
            [f"{S}.assistance_measure.id", f"{S}.assistance_measure.county_code"],
            name="fk_assistance_payment_measure",
        ),
        sa.CheckConstraint("amount > 0", name="ck_assistance_payment_amount"),
        sa.CheckConstraint("kind IN ('payment', 'reversal')", name="ck_assistance_payment_kind"),
        schema=S,
    )
    # One live payment per measure and period; a reversed one may be re-posted (a correction).
    op.create_index(
        "uq_assistance_payment_live",
        "assistance_payment",
        ["county_code", "measure_id", "period"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("kind = 'payment' AND status = 'posted'"),
    )
    # One reversal per payment.
    op.create_index(
        "uq_assistance_payment_reversal",
        "assistance_payment",
        ["county_code", "reverses_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("kind = 'reversal'"),
    )
    op.create_index("ix_assistance_payment_household", "assistance_payment", ["county_code", "household_id"], schema=S)
    op.create_table(
        "visit",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("visitors", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("findings", postgresql.JSONB, nullable=False),
        sa.Column("case_id", sa.Uuid),
        sa.Column("created_by", sa.Text),
        _now(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_visit"),
        schema=S,
    )
    op.create_index("ix_visit_household", "visit", ["county_code", "household_id", "visit_date"], schema=S)
    op.create_table(
        "assistance_income",
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("benefit_id", sa.Uuid),
        sa.Column("measure_id", sa.Uuid, nullable=False),
        sa.Column("measure_type", sa.String(32), nullable=False),
        sa.Column("income_type", sa.String(16), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("paid_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reversal_id", sa.Uuid),
        sa.Column("recorded_by", sa.Text),
        _now(),
        sa.Column("reversed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("payment_id", "county_code", name="pk_assistance_income"),
        sa.CheckConstraint("amount > 0", name="ck_assistance_income_amount"),
        schema="registry",
    )
    op.create_index(
        "ix_assistance_income_household_year", "assistance_income", ["household_id", "year"], schema="registry"
    )


def downgrade() -> None:
    op.drop_table("assistance_income", schema="registry")
    op.drop_table("visit", schema=S)
    op.drop_table("assistance_payment", schema=S)
    op.drop_table("assistance_measure_history", schema=S)
    op.drop_table("assistance_measure", schema=S)
    op.drop_table("attachment_chunk", schema=S)
    op.drop_table("attachment", schema=S)
